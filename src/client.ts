// The client side of a stack: start or extend it, ask its status, drain it.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { temporal } from '@temporalio/proto';
import type { PendingSupervision, ResourceSample } from './lifecycle/hosts.js';
import { isEncrypted } from './codec/index.js';
import { encryptionOffError } from './codec/sealed-payload.js';
import type { StackSpec, StackStatus } from './model.js';
import { LIST_PAGE_SIZE, quote, StackReads, type TaskQueuePoller, type TemporalReads, type WorkflowSummary } from './stack-reads.js';
import type { ReloadPlan } from './lifecycle/reload.js';
import {
  applyConfigUpdate,
  registryQuery,
  restartServiceUpdate,
  shutdownSignal,
  stackNameKey,
  serviceWorkflowId,
  stackSpecQuery,
  stackWorkflowId,
  startServicesUpdate,
  stopServicesUpdate,
  type RegistryEntry,
} from './workflows/definitions.js';
import { stackWorkflow } from './workflows/stack.js';
import { DEFAULT_TUNING, type Tuning } from './workflows/service.js';

/** gRPC status code. */
const GRPC_NOT_FOUND = 5;

export interface StartResult {
  /** false when the stack was already running and the services were added to it. */
  started: boolean;
  added: string[];
}

/** The reads of StackReads through the SDK client (and its data converter, so through stackflow's codec). */
export class SdkReads implements TemporalReads {
  constructor(readonly client: Client) {}

  async describeWorkflow(workflowId: string): Promise<WorkflowSummary | null> {
    let description;
    try {
      description = await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    const pending = description.raw.pendingActivities?.[0];
    return {
      running: description.status.name === 'RUNNING',
      startTime: description.startTime,
      pendingChildren: (description.raw.pendingChildren ?? []).map((c) => c.workflowId ?? ''),
      ...(pending ? { pendingActivity: await this.pendingSupervision(pending) } : {}),
    };
  }

  async runningWorkflowIds(filter: string): Promise<string[]> {
    const { executions } = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.client.options.namespace,
      query: `${filter} AND ExecutionStatus = 'Running'`,
      pageSize: LIST_PAGE_SIZE,
    });
    return (executions ?? []).map((e) => e.execution?.workflowId ?? '');
  }

  async workflowPollers(taskQueue: string): Promise<TaskQueuePoller[]> {
    const { pollers } = await this.client.workflowService.describeTaskQueue({
      namespace: this.client.options.namespace,
      // TASK_QUEUE_KIND_NORMAL and TASK_QUEUE_TYPE_WORKFLOW (temporal/api/enums/v1/task_queue.proto)
      taskQueue: { name: taskQueue, kind: 1 },
      taskQueueType: 1,
    });
    return (pollers ?? []).map((p) => ({
      identity: p.identity ?? '',
      lastAccessAt: p.lastAccessTime?.seconds == null ? null : Number(p.lastAccessTime.seconds) * 1000,
    }));
  }

  query<T>(workflowId: string, queryType: string, deadlineMs?: number): Promise<T> {
    const ask = () => this.client.workflow.getHandle(workflowId).query<T>(queryType);
    return deadlineMs === undefined ? ask() : this.client.connection.withDeadline(Date.now() + deadlineMs, ask);
  }

  private async pendingSupervision(pending: temporal.api.workflow.v1.IPendingActivityInfo): Promise<PendingSupervision> {
    const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
      t?.seconds == null ? null : Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
    const payloads = pending.heartbeatDetails?.payloads;
    // Through the client's data converter: heartbeat details go through its codec like any payload.
    const details = payloads?.length
      ? await decodeFromPayloadsAtIndex<Partial<ResourceSample>>(this.client.options.loadedDataConverter, 0, payloads)
      : undefined;
    return {
      // PENDING_ACTIVITY_STATE_STARTED = 2 (1: scheduled, waiting for a worker)
      started: Number(pending.state) === 2,
      attempt: pending.attempt ?? 1,
      lastHeartbeatAt: millis(pending.lastHeartbeatTime),
      lastStartedAt: millis(pending.lastStartedTime),
      sample: details && typeof details.memoryBytes === 'number' ? (details as ResourceSample) : null,
    };
  }
}

export class StackClient extends StackReads {
  constructor(
    readonly client: Client,
    taskQueue: string,
    readonly tuning: Tuning = DEFAULT_TUNING,
  ) {
    super(new SdkReads(client), taskQueue, tuning.heartbeatTimeoutMs);
  }

  handle(stack: string) {
    return this.client.workflow.getHandle<typeof stackWorkflow>(stackWorkflowId(stack));
  }

  /** Starts the stack workflow, or adds `services` to the one already running. */
  async start(stack: StackSpec, services: string[]): Promise<StartResult> {
    if (!(await this.isRunning(stack.name))) {
      try {
        await this.client.workflow.start(stackWorkflow, {
          workflowId: stackWorkflowId(stack.name),
          taskQueue: this.taskQueue,
          args: [{ stack, services, workflowQueue: this.taskQueue, tuning: this.tuning }],
          typedSearchAttributes: [{ key: stackNameKey, value: stack.name }],
          staticSummary: `stack ${stack.name}: ${Object.keys(stack.services).length} services`,
          staticDetails: `Stack file: \`${stack.file}\`\n\nServices: ${Object.keys(stack.services).join(', ')}`,
        });
        return { started: true, added: services.length ? services : Object.keys(stack.services) };
      } catch (err) {
        // Someone else started it between our check and our start: join theirs.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    await this.requireKey(stack.name);
    const wanted = services.length ? services : Object.keys(stack.services);
    const added = await this.handle(stack.name).executeUpdate(startServicesUpdate, { args: [{ stack, services: wanted }] });
    return { started: false, added };
  }

  /** The stack's registry as its workflow knows it, across hosts (one entry per running instance); null when not running. */
  async registry(stack: string): Promise<RegistryEntry[] | null> {
    if (!(await this.isRunning(stack))) return null;
    return this.handle(stack).query(registryQuery);
  }

  /** Restarts one service through the workflow; resolves once it is healthy again. */
  /** Restarts `service` (and its dependents when asked); resolves with the dependents it bounced, once healthy again. */
  async restart(stack: string, service: string, withDependents = false): Promise<string[]> {
    await this.requireKey(stack);
    // A workflow from before the answer carried the dependents answers nothing (null).
    return (await this.handle(stack).executeUpdate(restartServiceUpdate, { args: [{ service, withDependents }] })) ?? [];
  }

  /** Stops services and keeps them stopped (the `stopServices` update); resolves with the names stopped. */
  async stopServices(stack: string, services: string[], timeoutMs?: number): Promise<string[]> {
    await this.requireKey(stack);
    return this.handle(stack).executeUpdate(stopServicesUpdate, { args: [{ services, timeoutMs }] });
  }

  /** Applies an edited stack file to the running stack; resolves with the plan once it has settled. */
  async reload(stack: StackSpec): Promise<ReloadPlan> {
    await this.requireKey(stack.name);
    return this.handle(stack.name).executeUpdate(applyConfigUpdate, { args: [stack] });
  }

  /** The definition the running stack works from. */
  async runningSpec(stack: string): Promise<StackSpec> {
    return this.handle(stack).query(stackSpecQuery);
  }

  /** Signals shutdown (accepted even with no worker up) and waits for the drain to finish. */
  async shutdown(stack: string, reason: string, timeoutMs?: number): Promise<StackStatus | null> {
    if (!(await this.isRunning(stack))) return null;
    await this.requireKey(stack);
    const handle = this.handle(stack);
    await handle.signal(shutdownSignal, { reason, timeoutMs });
    return handle.result();
  }

  /**
   * Signals shutdown with a budget of `budgetMs` and waits for the drain, at most `budgetMs` plus
   * `graceMs` (for the SIGKILLs sent when the budget is spent). `drained`: the final status, or null
   * when the stack was not running. `unfinished`: the observed status of what is still stopping then
   * (e.g. services on a host whose worker is gone); the drain goes on in the workflow and finishes
   * when their hosts' workers come back.
   */
  async shutdownWithin(
    stack: string,
    reason: string,
    budgetMs: number,
    graceMs = 5000,
  ): Promise<{ drained: StackStatus | null; unfinished?: undefined } | { drained?: undefined; unfinished: StackStatus }> {
    if (!(await this.isRunning(stack))) return { drained: null };
    await this.requireKey(stack);
    const handle = this.handle(stack);
    await handle.signal(shutdownSignal, { reason, timeoutMs: budgetMs });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs + graceMs)));
    const result = handle.result();
    try {
      const drained = await Promise.race([result, deadline]);
      if (drained) return { drained };
    } finally {
      clearTimeout(timer);
    }
    result.catch(() => undefined);
    const observed = await this.observedStatus(stack);
    if (!observed) return { drained: await result };
    const services = Object.fromEntries(Object.entries(observed.services).filter(([, s]) => s.state !== 'stopped' && s.state !== 'completed' && s.state !== 'failed' && s.state !== 'blocked'));
    return { unfinished: { ...observed, services } };
  }

  /**
   * Terminates the stack workflow and every running service workflow of `stack` (they are started
   * with ParentClosePolicy.ABANDON, so terminating the stack workflow leaves them running). The ids
   * come from the stack workflow's pending children and `services` (exact), and from a visibility
   * query on the StackName search attribute (which may lag: it adds what the others miss). The
   * stack workflow goes first, so nothing starts a service again. Resolves with the ids terminated;
   * a workflow already closed is skipped. Errors other than "not found" propagate.
   */
  async terminateStack(stack: string, reason: string, services: string[] = []): Promise<string[]> {
    const [described, listed] = await Promise.all([
      this.reads.describeWorkflow(stackWorkflowId(stack)),
      // A server without the StackName attribute (a user's own) refuses the query: the exact ids remain.
      this.reads.runningWorkflowIds(`${stackNameKey.name} = ${quote(stack)}`).catch(() => [] as string[]),
    ]);
    const serviceIds = new Set([...(described?.pendingChildren ?? []), ...services.map((name) => serviceWorkflowId(stack, name)), ...listed]);
    serviceIds.delete(stackWorkflowId(stack));
    const terminated: string[] = [];
    const terminate = async (id: string) => {
      try {
        await this.client.workflow.getHandle(id).terminate(reason);
        terminated.push(id);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    };
    await terminate(stackWorkflowId(stack));
    await Promise.all([...serviceIds].map(terminate));
    return terminated;
  }

  /**
   * Throws EncryptionKeyError (naming the key id) unless this client can read the running stack's
   * payloads: checked on the input of its current run before any signal or update, because a
   * workflow cannot read a message sealed with another key. So a wrong key starts or stops nothing.
   */
  async requireKey(stack: string): Promise<void> {
    let history;
    try {
      ({ history } = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: stackWorkflowId(stack) },
        maximumPageSize: 1,
      }));
    } catch (err) {
      // No such stack: the call that follows reports it as it always does.
      if ((err as { code?: number }).code === GRPC_NOT_FOUND) return;
      throw err;
    }
    const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const codecs = this.client.options.loadedDataConverter.payloadCodecs;
    if (codecs.length === 0) {
      const sealed = payloads.find(isEncrypted);
      if (sealed) throw encryptionOffError(sealed, `stack ${stack}`);
      return;
    }
    for (const codec of [...codecs].reverse()) await codec.decode(payloads);
  }
}
