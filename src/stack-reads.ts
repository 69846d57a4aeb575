// What `status` (and the "no worker" check of every command) reads of a stack from Temporal, over
// one narrow interface with two implementations: the SDK client (client.ts) and the server's HTTP
// API (temporal/http-reads.ts), which answers a CLI in tens of milliseconds where loading the SDK
// alone takes hundreds. The decisions on what is read live here, once. Imports no SDK module.
import { hostname } from 'node:os';
import { observeService, type PendingSupervision } from './lifecycle/hosts.js';
import { isProcessAlive } from './process/terminate.js';
import { DEFAULT_TUNING, type ServiceStatus, type StackSpec, type StackStatus } from './model.js';
import { serviceWorkflowId, STACK_SPEC_QUERY, STACK_WORKFLOW_TYPE, stackWorkflowId, STATUS_QUERY } from './workflows/ids.js';

/** One page of a visibility list: stackflow reads no more (a home runs a handful of stacks). */
export const LIST_PAGE_SIZE = 1000;

/** A long poll lasts a minute (Temporal's default); a live worker's last poll is never much older. */
const RECENT_POLL_MS = 75_000;

/** A workflow execution as DescribeWorkflowExecution tells it (temporal.api.workflowservice.v1). */
export interface WorkflowSummary {
  /** WORKFLOW_EXECUTION_STATUS_RUNNING. */
  running: boolean;
  startTime: Date;
  /** Workflow ids of its pending child workflows. */
  pendingChildren: string[];
  /** Its first pending activity, heartbeat details decoded; undefined when none. */
  pendingActivity?: PendingSupervision;
}

/** A poller of a task queue (DescribeTaskQueue): its identity (`pid@host` for the SDK's default) and last poll. */
export interface TaskQueuePoller {
  identity: string;
  /** Epoch ms; null when the server gives none. */
  lastAccessAt: number | null;
}

/**
 * The reads themselves, one Temporal call each, in the namespace the implementation was opened
 * on. Errors other than "not found" propagate (the CLI maps them to messages and exit codes).
 */
export interface TemporalReads {
  /** The latest run of `workflowId`; null when there is none. */
  describeWorkflow(workflowId: string): Promise<WorkflowSummary | null>;
  /** The pollers of the workflow task queue `taskQueue` (normal kind). */
  workflowPollers(taskQueue: string): Promise<TaskQueuePoller[]>;
  /** The query's answer, decoded; `deadlineMs` bounds the call. */
  query<T>(workflowId: string, queryType: string, deadlineMs?: number): Promise<T>;
  /**
   * The ids of the running workflows that match `filter` (a visibility query in Temporal's List
   * Filter syntax, e.g. `TaskQueue = 'stackflow'`), first page only (a thousand at most).
   * Visibility may lag a second behind a start or an end.
   */
  runningWorkflowIds(filter: string): Promise<string[]>;
}

/**
 * A stack as Temporal knows it, read through `reads`: is it running, does a worker poll its task
 * queue, its status with each service's host-sampled CPU and memory.
 */
export class StackReads {
  constructor(
    readonly reads: TemporalReads,
    readonly taskQueue: string,
    /** The heartbeat timeout of the supervisions: past it a host's silent worker makes its services `unknown`. */
    readonly heartbeatTimeoutMs: number = DEFAULT_TUNING.heartbeatTimeoutMs,
  ) {}

  async isRunning(stack: string): Promise<boolean> {
    return (await this.reads.describeWorkflow(stackWorkflowId(stack)))?.running ?? false;
  }

  /**
   * True when a live worker polls the workflow task queue. Temporal lists a poller for minutes
   * after it died, and an idle live one re-polls only once a minute, so a poller's identity
   * (`pid@host`, the SDK's default) is checked on this host, and elsewhere its last poll must be
   * recent (within a long poll's minute plus slack).
   */
  async hasWorker(): Promise<boolean> {
    const pollers = await this.reads.workflowPollers(this.taskQueue);
    const here = hostname();
    return pollers.some((poller) => {
      const [pid, host] = poller.identity.split('@');
      if (host === here && /^\d+$/.test(pid ?? '')) return isProcessAlive(Number(pid));
      return Date.now() - (poller.lastAccessAt ?? 0) < RECENT_POLL_MS;
    });
  }

  /**
   * The pid of a live worker on this machine that polls `queue` (its identity `pid@host`, the SDK's
   * default, names this host and a running process), e.g. `npm run worker` in another terminal;
   * null when there is none. Two workers for one host split its activities, and a dependent's
   * spawn then waits for the stack workflow's fallback instead of its host's readiness bus.
   */
  async localWorkerPid(queue: string): Promise<number | null> {
    const here = hostname();
    for (const poller of await this.reads.workflowPollers(queue)) {
      const [pid, host] = poller.identity.split('@');
      if (host === here && /^\d+$/.test(pid ?? '') && isProcessAlive(Number(pid))) return Number(pid);
    }
    return null;
  }

  /**
   * The names of the stacks whose stack workflow runs on this task queue (the stacks one home's
   * worker serves), from one visibility query: may lag a second behind a start or an end.
   */
  async runningStacks(): Promise<string[]> {
    const prefix = stackWorkflowId('');
    const ids = await this.reads.runningWorkflowIds(`WorkflowType = ${quote(STACK_WORKFLOW_TYPE)} AND TaskQueue = ${quote(this.taskQueue)}`);
    return ids.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length));
  }

  /**
   * The STACKFLOW_HOME (absolute) the running stack workflow of `stack` was started from: its
   * `stackSpec` query, answered by any worker of the task queue. `deadlineMs` bounds the query;
   * errors propagate.
   */
  async stackHome(stack: string, deadlineMs?: number): Promise<string> {
    return (await this.reads.query<StackSpec>(stackWorkflowId(stack), STACK_SPEC_QUERY, deadlineMs)).home;
  }

  /** What Temporal's history tells of a running stack without a worker: since when, which service workflows. */
  async describeWithoutWorker(stack: string): Promise<string | null> {
    const description = await this.reads.describeWorkflow(stackWorkflowId(stack));
    if (!description?.running) return null;
    const prefix = `${stackWorkflowId(stack)}.`;
    const services = description.pendingChildren.map((id) => id.replace(prefix, '')).sort();
    return `workflow ${stackWorkflowId(stack)} running since ${description.startTime.toISOString()}` +
      (services.length ? `, service workflows: ${services.join(', ')}` : '');
  }

  /** The `status` query; null when the stack workflow is not running. `deadlineMs` bounds the query. */
  async status(stack: string, deadlineMs?: number): Promise<StackStatus | null> {
    if (!(await this.isRunning(stack))) return null;
    return this.reads.query<StackStatus>(stackWorkflowId(stack), STATUS_QUERY, deadlineMs);
  }

  /**
   * The status as it stands on the hosts: the workflow's status, with each running service's CPU and
   * memory as its host's worker last sampled them (its supervision's heartbeat), and `unknown` with
   * `unreachableSince` for a service whose host's worker has gone silent. Null when the stack is not
   * running. `deadlineMs` bounds the status query.
   */
  async observedStatus(stack: string, deadlineMs?: number): Promise<StackStatus | null> {
    const current = await this.status(stack, deadlineMs);
    if (!current) return null;
    const now = Date.now();
    const entries = await Promise.all(
      Object.entries(current.services).map(async ([name, s]): Promise<[string, ServiceStatus]> => {
        if (s.pid === null) return [name, s];
        const pending = (await this.reads.describeWorkflow(serviceWorkflowId(stack, name)))?.pendingActivity;
        return [name, observeService(s, pending, now, this.heartbeatTimeoutMs)];
      }),
    );
    return { ...current, services: Object.fromEntries(entries) };
  }
}

/** A string literal of Temporal's List Filter syntax (single quotes; a quote or backslash inside escaped with a backslash). */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
