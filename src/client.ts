// The client side of a stack: start or extend it, ask its status, drain it.
import { hostname } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isProcessAlive } from './process/terminate.js';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { observeService, type PendingSupervision, type ResourceSample } from './lifecycle/hosts.js';
import { EncryptionKeyError, isEncrypted, payloadKeyId } from './codec/index.js';
import type { ServiceStatus, StackSpec, StackStatus } from './model.js';
import type { ReloadPlan } from './lifecycle/reload.js';
import {
  applyConfigUpdate,
  registryQuery,
  restartServiceUpdate,
  serviceWorkflowId,
  shutdownSignal,
  stackNameKey,
  stackSpecQuery,
  stackWorkflowId,
  startServicesUpdate,
  statusQuery,
  stopServicesUpdate,
  type RegistryEntry,
} from './workflows/definitions.js';
import { stackWorkflow } from './workflows/stack.js';
import { DEFAULT_TUNING, type Tuning } from './workflows/service.js';

/** A long poll lasts a minute (Temporal's default); a live worker's last poll is never much older. */
const RECENT_POLL_MS = 75_000;
/** gRPC status code. */
const GRPC_NOT_FOUND = 5;

export interface StartResult {
  /** false when the stack was already running and the services were added to it. */
  started: boolean;
  added: string[];
}

export class StackClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    readonly tuning: Tuning = DEFAULT_TUNING,
  ) {}

  handle(stack: string) {
    return this.client.workflow.getHandle<typeof stackWorkflow>(stackWorkflowId(stack));
  }

  async isRunning(stack: string): Promise<boolean> {
    try {
      const description = await this.handle(stack).describe();
      return description.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
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

  /** The `status` query; null when the stack workflow is not running. `deadlineMs` bounds the query. */
  async status(stack: string, deadlineMs?: number): Promise<StackStatus | null> {
    if (!(await this.isRunning(stack))) return null;
    const ask = () => this.handle(stack).query(statusQuery);
    return deadlineMs === undefined ? ask() : this.client.connection.withDeadline(Date.now() + deadlineMs, ask);
  }

  /**
   * True when a live worker polls the workflow task queue. Temporal lists a poller for minutes
   * after it died, and an idle live one re-polls only once a minute, so a poller's identity
   * (`pid@host`, the SDK's default) is checked on this host, and elsewhere its last poll must be
   * recent (within a long poll's minute plus slack).
   */
  async hasWorker(): Promise<boolean> {
    const { pollers } = await this.client.workflowService.describeTaskQueue({
      namespace: this.client.options.namespace,
      // TASK_QUEUE_KIND_NORMAL and TASK_QUEUE_TYPE_WORKFLOW (temporal/api/enums/v1/task_queue.proto)
      taskQueue: { name: this.taskQueue, kind: 1 },
      taskQueueType: 1,
    });
    const here = hostname();
    return (pollers ?? []).some((poller) => {
      const [pid, host] = (poller.identity ?? '').split('@');
      if (host === here && /^\d+$/.test(pid ?? '')) return isProcessAlive(Number(pid));
      const lastPollMs = Number(poller.lastAccessTime?.seconds ?? 0) * 1000;
      return Date.now() - lastPollMs < RECENT_POLL_MS;
    });
  }

  /** What Temporal's history tells of a running stack without a worker: since when, which service workflows. */
  async describeWithoutWorker(stack: string): Promise<string | null> {
    try {
      const description = await this.handle(stack).describe();
      if (description.status.name !== 'RUNNING') return null;
      const prefix = `${stackWorkflowId(stack)}.`;
      const services = (description.raw.pendingChildren ?? []).map((c) => (c.workflowId ?? '').replace(prefix, '')).sort();
      return `workflow ${stackWorkflowId(stack)} running since ${description.startTime.toISOString()}` +
        (services.length ? `, service workflows: ${services.join(', ')}` : '');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
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
        const pending = await this.pendingHostActivity(serviceWorkflowId(stack, name));
        return [name, observeService(s, pending, now, this.tuning.heartbeatTimeoutMs)];
      }),
    );
    return { ...current, services: Object.fromEntries(entries) };
  }

  /** The first pending activity of a service workflow, as its host's worker last reported it; undefined when none or the workflow is gone. */
  private async pendingHostActivity(workflowId: string): Promise<PendingSupervision | undefined> {
    let description;
    try {
      description = await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    const pending = description.raw.pendingActivities?.[0];
    if (!pending) return undefined;
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
      if (sealed) {
        const id = payloadKeyId(sealed) ?? '(none)';
        throw new EncryptionKeyError(`stack ${stack} is encrypted with key ${id}, but STACKFLOW_ENCRYPTION=off: unset it and give this process that key`, id);
      }
      return;
    }
    for (const codec of [...codecs].reverse()) await codec.decode(payloads);
  }
}
