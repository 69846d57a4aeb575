// The plain-string part of stackflow's Temporal names (SPEC §5): task queues, workflow ids, the
// query names. Re-exported by definitions.ts, where every typed definition is built from them; this
// module imports nothing, so the CLI's light read path (`status` over the HTTP API) can name a
// workflow without loading the SDK.

export const DEFAULT_TASK_QUEUE = 'stackflow';

/** Activities that touch a process run on the queue of the host that owns it. */
export function hostTaskQueue(workflowQueue: string, host: string): string {
  return `${workflowQueue}@${host}`;
}

/** The stack workflow's type: the name of its function in workflows/stack.ts (`down` keeping the worker for another stack, test/e2e/recovery.test.ts, fails if they differ). */
export const STACK_WORKFLOW_TYPE = 'stackWorkflow';

/** The Keyword search attribute every stackflow workflow carries: its stack's name (the UI's filter `StackName = "demo"`). */
export const STACK_NAME_SEARCH_ATTRIBUTE = 'StackName';

export function stackWorkflowId(stack: string): string {
  return `stack-${stack}`;
}

export function serviceWorkflowId(stack: string, service: string): string {
  return `stack-${stack}.${service}`;
}

/** The stack workflow's `status` query (a StackStatus). */
export const STATUS_QUERY = 'status';

/** The stack workflow's `stackSpec` query: the StackSpec it works from (its `home` tells whose worker serves it). */
export const STACK_SPEC_QUERY = 'stackSpec';
