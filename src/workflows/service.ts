// One service's life: spawn -> await healthy -> register -> supervise, restarts under its policy,
// and a clean stop when the stack workflow asks. Deterministic: no Node modules, no I/O.
import {
  ActivityCancellationType,
  allHandlersFinished,
  continueAsNew,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { HandlerUnfinishedPolicy } from '@temporalio/common';
import type { createActivities } from '../activities/index.js';
import type { ExitInfo, ServiceSpec, ServiceState } from '../model.js';
import { backoffDelay, restartsInWindow } from '../lifecycle/backoff.js';
import {
  hostTaskQueue,
  restartNowSignal,
  serviceReportSignal,
  stopServiceSignal,
  type ServiceReport,
  type StopRequest,
} from './definitions.js';

type HostActivities = ReturnType<typeof createActivities>;

/** Knobs of the workflows themselves; tests turn them down to see their effect quickly. */
export interface Tuning {
  /** Heartbeat timeout of the long activities: bounds how fast a dead worker is noticed. */
  heartbeatTimeoutMs: number;
  /** A service workflow continues as new past this many history events (or when the server suggests it). */
  maxHistoryEvents: number;
}

export const DEFAULT_TUNING: Tuning = { heartbeatTimeoutMs: 10_000, maxHistoryEvents: 2_000 };

/** What a service's next run needs from its previous ones (continue-as-new, relaunch). */
export interface CarriedState {
  restarts: number;
  /** Epoch ms of the restarts that still count against max_restarts. */
  restartTimes: number[];
  lastExit: ExitInfo | null;
  phase: 'starting' | 'restarting';
  /** The last report's sequence number. */
  reportSeq?: number;
}

export interface ServiceWorkflowInput {
  stack: string;
  stackDir: string;
  spec: ServiceSpec;
  parentWorkflowId: string;
  workflowQueue: string;
  tuning: Tuning;
  carried: CarriedState;
}

export interface ServiceOutcome {
  state: Extract<ServiceState, 'stopped' | 'failed' | 'completed'>;
  restarts: number;
  lastExit: ExitInfo | null;
  error: string | null;
}

type AttemptResult =
  | { kind: 'ended'; exit: ExitInfo | null; detail: string; failed: boolean }
  | { kind: 'start-failed'; detail: string }
  | { kind: 'interrupted' };

export async function serviceWorkflow(input: ServiceWorkflowInput): Promise<ServiceOutcome> {
  const { spec, stackDir } = input;
  const name = spec.name;
  const activities = hostActivities(input);
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);

  let stopRequested = false;
  let restartRequested = false;
  let attemptScope: CancellationScope | undefined;
  const restartTimes = [...input.carried.restartTimes];
  let reportSeq = input.carried.reportSeq ?? 0;
  let { restarts, lastExit } = input.carried;

  setHandler(
    stopServiceSignal,
    async (request?: StopRequest) => {
      stopRequested = true;
      attemptScope?.cancel();
      if (request?.force) {
        // Beside a graceful stop that may already be waiting out its timeout.
        await activities.killService.executeWithOptions({ ...SHORT, summary: `kill ${name}: ${request.reason ?? 'forced stop'}` }, [
          { stackDir, spec },
        ]);
      }
    },
    { unfinishedPolicy: HandlerUnfinishedPolicy.ABANDON },
  );
  setHandler(restartNowSignal, () => {
    restartRequested = true;
    attemptScope?.cancel();
  });

  /** Resolves once the stack workflow has the report; only the last one is awaited. */
  function report(state: ServiceState, fields: Omit<ServiceReport, 'service' | 'state' | 'seq'> = {}): Promise<void> {
    setCurrentDetails(`**${state}** · restarts ${restarts}${fields.pid ? ` · pid ${fields.pid}` : ''}${fields.error ? `\n\n${fields.error}` : ''}`);
    reportSeq++;
    return parent.signal(serviceReportSignal, { service: name, seq: reportSeq, state, restarts, ...fields }).catch(() => {
      // The stack workflow may already be gone (terminated by hand); the service goes on regardless.
    });
  }

  async function attempt(starting: ServiceState): Promise<AttemptResult> {
    attemptScope = new CancellationScope();
    try {
      return await attemptScope.run(async () => {
        // No report before the spawn: the stack workflow marks a launch or a restart itself.
        const { workflowId, runId } = workflowInfo();
        const spawned = await activities.spawnService.executeWithOptions(
          { ...SHORT, summary: `spawn ${name}: ${spec.command.join(' ')}` },
          [{ stackDir, spec, workflowId, runId }],
        );
        void report(starting, { pid: spawned.pid, startedAt: spawned.startedAt });
        const healthy = await activities.awaitHealthy.executeWithOptions(
          { ...awaitHealthyOptions(input), summary: `await healthy ${name}: ${describeProbe(spec)}` },
          [{ stackDir, spec, pid: spawned.pid }],
        );
        if (healthy.kind === 'exited') return { kind: 'ended', exit: healthy.exit, detail: `${name}: exited with code 0`, failed: false };
        await activities.registerService.executeWithOptions({ ...SHORT, summary: `register ${name}` }, [
          { stackDir, spec, pid: spawned.pid, healthyAt: healthy.healthyAt },
        ]);
        // After the registration: whoever sees `healthy` (a dependent, `up -d`) finds it in registry.json.
        void report('healthy', { pid: spawned.pid, startedAt: spawned.startedAt, healthyAt: healthy.healthyAt, error: null });
        const ended = await activities.superviseService.executeWithOptions(
          { ...superviseOptions(input), summary: `supervise ${name} (pid ${spawned.pid})` },
          [{ stackDir, spec, pid: spawned.pid }],
        );
        const failed = ended.reason === 'liveness' || ended.exit?.code !== 0;
        return { kind: 'ended', exit: ended.exit, detail: ended.detail, failed };
      });
    } catch (err) {
      if (isCancellation(err)) return { kind: 'interrupted' };
      if (err instanceof ActivityFailure) return { kind: 'start-failed', detail: failureMessage(err) };
      throw err;
    } finally {
      attemptScope = undefined;
    }
  }

  async function stopProcess(): Promise<ExitInfo | null> {
    await activities.deregisterService.executeWithOptions({ ...SHORT, summary: `deregister ${name}` }, [
      { stackDir, spec },
    ]);
    const stopped = await activities.stopService.executeWithOptions(
      { ...stopOptions(input), summary: `stop ${name}: ${spec.shutdown.signal}, SIGKILL after ${spec.shutdown.timeoutMs}ms` },
      [{ stackDir, spec }],
    );
    return stopped.exit;
  }

  async function finish(outcome: Omit<ServiceOutcome, 'restarts' | 'lastExit'>): Promise<ServiceOutcome> {
    // A signal still in flight when its sender completes is dropped: wait until it is delivered.
    await report(outcome.state, { pid: null, lastExit, error: outcome.error });
    return { ...outcome, restarts, lastExit };
  }

  let phase = input.carried.phase;
  for (;;) {
    // A stop can arrive before any attempt scope exists to cancel (with this run's first task).
    if (stopRequested) return await finish({ state: 'stopped', error: null });
    if (historyIsLong(input.tuning)) {
      // Between attempts nothing runs, so the next run starts exactly where this one stands.
      await condition(allHandlersFinished);
      if (stopRequested) continue;
      return continueAsNew<typeof serviceWorkflow>({ ...input, carried: { restarts, restartTimes, lastExit, phase, reportSeq } });
    }
    restartRequested = false;
    const result = await attempt(phase);
    if (result.kind === 'ended') lastExit = result.exit;
    // Whatever ended the attempt, the process group is cleaned up before anything else happens.
    const stoppedExit = await stopProcess();
    if (result.kind !== 'ended') lastExit = stoppedExit ?? lastExit;
    if (stopRequested) return await finish({ state: 'stopped', error: null });

    if (result.kind === 'interrupted') {
      // restartService: an on-demand restart skips the back-off and does not count against the budget.
      restarts++;
      phase = 'restarting';
      continue;
    }

    const failed = result.kind === 'start-failed' || result.failed;
    const reason = result.detail;
    if (!failed && spec.restart.policy !== 'always') return await finish({ state: 'completed', error: null });
    if (spec.restart.policy === 'never') return await finish({ state: failed ? 'failed' : 'completed', error: failed ? reason : null });

    const now = Date.now();
    const recent = restartsInWindow(restartTimes, now);
    if (recent.length >= spec.restart.maxRestarts) {
      return await finish({
        state: 'failed',
        error: `gave up after ${recent.length} restarts within 10m: ${reason}`,
      });
    }
    const delay = backoffDelay(spec.restart.backoff, recent.length + 1, Math.random);
    void report('restarting', { pid: null, lastExit, error: reason });
    await condition(() => stopRequested || restartRequested, delay, { summary: `back-off ${name} ${delay}ms` });
    if (stopRequested) return await finish({ state: 'stopped', error: null });
    restartTimes.splice(0, restartTimes.length, ...recent, Date.now());
    restarts++;
    phase = 'restarting';
  }
}

/** Time to continue as new: past the tuned event count, or when the server suggests it. */
export function historyIsLong(tuning: Tuning): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > tuning.maxHistoryEvents;
}

const SHORT: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '100ms', maximumAttempts: 5, nonRetryableErrorTypes: ['ServiceStartError'] },
};

function hostActivities(input: ServiceWorkflowInput) {
  return proxyActivities<HostActivities>({
    ...SHORT,
    taskQueue: hostTaskQueue(input.workflowQueue, input.spec.host),
  });
}

function awaitHealthyOptions(input: ServiceWorkflowInput): ActivityOptions {
  const { health } = input.spec;
  return {
    startToCloseTimeout: health.startPeriodMs + health.readyTimeoutMs + 30_000,
    heartbeatTimeout: input.tuning.heartbeatTimeoutMs,
    // The stop path kills the process itself; waiting for the cancellation to reach the activity
    // (on its next throttled heartbeat) would only delay the drain.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: '100ms', maximumAttempts: 10, nonRetryableErrorTypes: ['ServiceStartError', 'ReadinessTimeoutError'] },
  };
}

function superviseOptions(input: ServiceWorkflowInput): ActivityOptions {
  return {
    startToCloseTimeout: '3650d',
    heartbeatTimeout: input.tuning.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: '200ms', maximumInterval: '5s' },
  };
}

function stopOptions(input: ServiceWorkflowInput): ActivityOptions {
  // With a heartbeat timeout, a stop whose worker died is retried by the next worker within seconds.
  return { ...SHORT, startToCloseTimeout: input.spec.shutdown.timeoutMs + 30_000, heartbeatTimeout: input.tuning.heartbeatTimeoutMs };
}

export function describeProbe(spec: ServiceSpec): string {
  const probe = spec.health.probe;
  switch (probe.kind) {
    case 'http':
      return `GET ${probe.url}`;
    case 'tcp':
      return `tcp ${probe.host}:${probe.port}`;
    case 'exec':
      return `exec ${probe.command.join(' ')}`;
    case 'log':
      return `log /${probe.pattern}/`;
    case 'process':
      return 'process running';
  }
}

function failureMessage(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.message;
  return cause?.message ?? err.message;
}
