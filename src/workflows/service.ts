// One service's life: spawn (gated on its host by its same-host dependencies) -> await healthy
// (which registers it) -> supervise, restarts under its policy, and a clean stop when the stack
// workflow asks (after its same-host dependents' processes are gone). Deterministic: no Node modules, no I/O.
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
import type { ReportTo, SpawnResult, StopResult } from '../activities/contract.js';
import type { ExitInfo, ProcessRef, ServiceSpec, ServiceState } from '../model.js';
import { describeExitShort, nextStep, runMarkerLine, type NextStep } from '../lifecycle/backoff.js';
import { describeGates, describeProbe, type DependencyGate } from '../lifecycle/plan.js';
import {
  dependenciesMetSignal,
  hostTaskQueue,
  restartNowSignal,
  serviceReportSignal,
  stopServiceSignal,
  type RestartNowRequest,
  type ServiceReport,
  type StopRequest,
} from './definitions.js';

type HostActivities = ReturnType<typeof createActivities>;

import { DEFAULT_TUNING, type Tuning } from '../model.js';

export { DEFAULT_TUNING, type Tuning };

/** What a service's next run needs from its previous ones (continue-as-new, relaunch). */
export interface CarriedState {
  /** Crash restarts. */
  restarts: number;
  /** Restarts asked for by hand (absent in histories from before it was counted). */
  manualRestarts?: number;
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
  /** Same-host dependencies the first spawn of this launch waits for on its host (none: spawn at once). */
  waitFor?: DependencyGate[];
}

export interface ServiceOutcome {
  state: Extract<ServiceState, 'stopped' | 'failed' | 'completed'>;
  restarts: number;
  manualRestarts?: number;
  lastExit: ExitInfo | null;
  error: string | null;
  /** Processes its stops could not end (ServiceStatus.leftRunning). */
  leftRunning?: ProcessRef[];
}

type AttemptResult =
  | { kind: 'ended'; exit: ExitInfo | null; detail: string; failed: boolean; beforeHealthy: boolean }
  /** `cause`: why, when the exit does not tell it (a port held by another process, …). */
  | { kind: 'start-failed'; detail: string; cause: string | null }
  | { kind: 'interrupted' };

export async function serviceWorkflow(input: ServiceWorkflowInput): Promise<ServiceOutcome> {
  const { spec, stackDir } = input;
  const name = spec.name;
  const activities = hostActivities(input);
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);

  let stopRequested = false;
  let restartRequested = false;
  let attemptScope: CancellationScope | undefined;
  /** The same-host dependents the host waits out before it signals this process (set by a stop request). */
  let stopAfter: string[] = [];
  /** Why the next stop and spawn happen, when a restart request said (shown in their summaries). */
  let restartCause: string | undefined;
  let gate = input.waitFor?.length ? input.waitFor : undefined;
  let gateReleased = false;
  let gateScope: CancellationScope | undefined;
  /** A registry write that failed: reported with the next state, never in the way of a stop. */
  let bookkeepingError: string | null = null;
  /** What the last stop could not end. */
  let leftRunning: ProcessRef[] = [];
  const restartTimes = [...input.carried.restartTimes];
  let reportSeq = input.carried.reportSeq ?? 0;
  let { restarts, lastExit } = input.carried;
  /** The run boundary the host writes into the service's log before the next spawn. */
  let runMarker = '';
  let manualRestarts = input.carried.manualRestarts ?? 0;

  setHandler(
    stopServiceSignal,
    async (request?: StopRequest) => {
      stopRequested = true;
      if (request?.after) stopAfter = request.after;
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
  setHandler(restartNowSignal, (request?: RestartNowRequest) => {
    restartRequested = true;
    restartCause = request?.cause;
    attemptScope?.cancel();
  });
  setHandler(dependenciesMetSignal, () => {
    gateReleased = true;
    gateScope?.cancel();
  });

  /**
   * Spawns the process. The first spawn of a gated launch waits on the host for its same-host
   * dependencies (the activity's summary and result say for what and how long); the stack's
   * dependenciesMet signal replaces that wait by a plain spawn.
   */
  async function spawn(reportTo: ReportTo): Promise<SpawnResult> {
    const { workflowId, runId } = workflowInfo();
    const args = { stackDir, spec, workflowId, runId, reportTo, marker: runMarker };
    const command = spec.command.join(' ');
    const gates = gate;
    gate = undefined;
    if (gates && !gateReleased) {
      setCurrentDetails(`**pending** · waiting on its host for ${describeGates(gates)}`);
      gateScope = new CancellationScope();
      try {
        return await gateScope.run(() =>
          activities.spawnService.executeWithOptions(
            { ...gatedSpawnOptions(input), summary: `spawn ${name} once ${describeGates(gates)}: ${command}` },
            [{ ...args, waitFor: gates }],
          ),
        );
      } catch (err) {
        if (!(isCancellation(err) && gateReleased && !stopRequested)) throw err;
      } finally {
        gateScope = undefined;
      }
      return activities.spawnService.executeWithOptions(
        { ...SHORT, summary: `spawn ${name} (the stack saw ${describeGates(gates)}): ${command}` },
        [args],
      );
    }
    const cause = restartCause ? ` (restart: ${restartCause})` : '';
    restartCause = undefined;
    return activities.spawnService.executeWithOptions({ ...SHORT, summary: `spawn ${name}${cause}: ${command}` }, [args]);
  }

  type ReportFields = Omit<ServiceReport, 'service' | 'state' | 'seq'>;

  /** The Web UI's "Current Details" of this service. */
  function show(state: ServiceState, fields: ReportFields): void {
    setCurrentDetails(serviceStateDetails(state, { restarts, manualRestarts, ...fields }));
  }

  /** The next report, for an activity to send once it succeeds (it adds what it learned). */
  function reportBy(state: ServiceState, fields: ReportFields = {}): ReportTo {
    reportSeq++;
    return { workflowId: input.parentWorkflowId, report: { service: name, seq: reportSeq, state, restarts, manualRestarts, ...fields } };
  }

  /** Resolves once the stack workflow has the report; only the last one is awaited. */
  function report(state: ServiceState, fields: ReportFields = {}): Promise<void> {
    show(state, fields);
    const { report: next } = reportBy(state, fields);
    return parent.signal(serviceReportSignal, next).catch(() => {
      // The stack workflow may already be gone (terminated by hand); the service goes on regardless.
    });
  }

  async function attempt(starting: ServiceState): Promise<AttemptResult> {
    attemptScope = new CancellationScope();
    try {
      return await attemptScope.run(async () => {
        // No report before the spawn: the stack workflow marks a launch or a restart itself. The
        // spawn and readiness reports are sent by the activities themselves, the moment they know.
        const spawned = await spawn(reportBy(starting));
        const running = { pid: spawned.pid, startedAt: spawned.startedAt, address: spawned.address };
        show(starting, running);
        const healthy = await activities.awaitHealthy.executeWithOptions(
          { ...awaitHealthyOptions(input), summary: `await healthy and register ${name}: ${describeProbe(spec)}` },
          [{ stackDir, spec, pid: spawned.pid, reportTo: reportBy('healthy', { ...running, backoff: null }) }],
        );
        if (healthy.kind === 'exited') return { kind: 'ended', exit: healthy.exit, detail: `${name}: exited with code 0`, failed: false, beforeHealthy: true };
        bookkeepingError = healthy.registryError ?? null;
        // awaitHealthy registered it: whoever sees `healthy` (a dependent, `up -d`) finds it in registry.json.
        show('healthy', { ...running, error: bookkeepingError });
        const ended = await activities.superviseService.executeWithOptions(
          { ...superviseOptions(input), summary: `supervise ${name} (pid ${spawned.pid}) until it exits; a further attempt is a worker taking over` },
          [{ stackDir, spec, pid: spawned.pid }],
        );
        const failed = ended.reason === 'liveness' || ended.exit?.code !== 0;
        return { kind: 'ended', exit: ended.exit, detail: ended.detail, failed, beforeHealthy: false };
      });
    } catch (err) {
      if (isCancellation(err)) return { kind: 'interrupted' };
      if (err instanceof ActivityFailure) return { kind: 'start-failed', detail: failureMessage(err), cause: startFailureOf(err) };
      throw err;
    } finally {
      attemptScope = undefined;
    }
  }

  /**
   * Deregisters and stops the process (the registry never holds the stop up); retried until it is
   * done. The host then marks in the service's log how the run ended and what follows (`next`).
   */
  async function stopProcess(exit: ExitInfo | null | undefined, cause: string | null, next: NextStep | null): Promise<StopResult> {
    const after = stopRequested ? stopAfter : [];
    const why = stopRequested ? '' : restartCause ? ` for restart (${restartCause})` : restartRequested ? ' for restart' : '';
    const order = after.length ? ` once ${after.join(', ')} stopped` : '';
    const then = stopRequested
      ? 'stopped'
      : !next
        ? `restarting now${restartCause ? ` (${restartCause})` : ' (restart requested)'}`
        : next.kind === 'retry'
          ? `restarting in ${next.delayMs}ms`
          : next.kind === 'fail'
            ? `not restarted: ${next.error}`
            : 'completed';
    const stopped = await activities.stopService.executeWithOptions(
      { ...stopOptions(input), summary: `stop ${name}${why}${order}: ${spec.shutdown.signal}, SIGKILL after ${spec.shutdown.timeoutMs}ms` },
      [{ stackDir, spec, after, marker: { ...(exit && { exit }), ...(cause && { cause }), then } }],
    );
    bookkeepingError = stopped.registryError ?? bookkeepingError;
    leftRunning = stopped.remaining;
    // A recorded pid that is not ours is never signalled (SPEC §4): said, not acted on.
    if (stopped.notOurs.length) bookkeepingError = `not stopped, not ours: ${describeProcesses(stopped.notOurs)}`;
    return stopped;
  }

  async function finish(outcome: Omit<ServiceOutcome, 'restarts' | 'lastExit'>): Promise<ServiceOutcome> {
    const left = leftRunning.length ? `still running after its stop: ${describeProcesses(leftRunning)}` : null;
    const error = outcome.error ?? left ?? bookkeepingError;
    // A signal still in flight when its sender completes is dropped: wait until it is delivered.
    await report(outcome.state, { pid: null, lastExit, error, ...(leftRunning.length && { leftRunning }) });
    return { ...outcome, error, restarts, manualRestarts, lastExit, ...(leftRunning.length && { leftRunning }) };
  }

  let phase = input.carried.phase;
  for (;;) {
    // A stop can arrive before any attempt scope exists to cancel (with this run's first task).
    if (stopRequested) return await finish({ state: 'stopped', error: null });
    if (historyIsLong(input.tuning)) {
      // Between attempts nothing runs, so the next run starts exactly where this one stands.
      await condition(allHandlersFinished);
      if (stopRequested) continue;
      return continueAsNew<typeof serviceWorkflow>({
        ...input,
        waitFor: undefined,
        carried: { restarts, manualRestarts, restartTimes, lastExit, phase, reportSeq },
      });
    }
    restartRequested = false;
    runMarker = runMarkerLine(restarts, manualRestarts, spec.command);
    const result = await attempt(phase);
    if (result.kind === 'ended') lastExit = result.exit;
    // Decided before the clean-up, so the host can write it into the service's log after the exit.
    const failed = result.kind === 'start-failed' || (result.kind === 'ended' && result.failed);
    const reason = result.kind === 'interrupted' ? '' : result.detail;
    const next = result.kind === 'interrupted' ? null : nextStep(spec.restart, { failed, reason }, restartTimes, Date.now(), Math.random);
    const cause = result.kind === 'start-failed' ? result.cause : null;
    const stopped = await stopProcess(result.kind === 'ended' ? result.exit : undefined, cause, next);
    if (result.kind !== 'ended') lastExit = stopped.exit ?? lastExit;
    if (stopRequested) return await finish({ state: 'stopped', error: null });

    if (!next) {
      // restartService, reload: an on-demand restart skips the back-off and is counted apart.
      manualRestarts++;
      phase = 'restarting';
      continue;
    }
    if (next.kind === 'complete') return await finish({ state: 'completed', error: null });
    if (next.kind === 'fail') {
      await finish({ state: 'failed', error: next.error });
      // A failed run shows as Failed in the Web UI's workflow list; the stack already has the report.
      throw ApplicationFailure.nonRetryable(`${name} failed: ${next.error}`, 'ServiceFailed', { restarts, manualRestarts, lastExit });
    }
    const backoff = {
      attempt: next.attempt,
      maxAttempts: spec.restart.maxRestarts,
      delayMs: next.delayMs,
      duringStart: result.kind === 'start-failed' || (result.kind === 'ended' && result.beforeHealthy),
      ...(cause && { cause }),
      at: new Date().toISOString(),
    };
    void report('restarting', { pid: null, lastExit, error: reason, backoff });
    await condition(() => stopRequested || restartRequested, next.delayMs, {
      summary: `back-off ${name} ${next.delayMs}ms after ${cause ?? describeExitShort(lastExit)} (restart ${next.attempt}/${spec.restart.maxRestarts})`,
    });
    if (stopRequested) return await finish({ state: 'stopped', error: null });
    restartTimes.splice(0, restartTimes.length, ...next.recent, Date.now());
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
  // Retried without a limit: a service workflow never ends while its process may still run. The
  // start-to-close bounds one attempt; it may first wait for its dependents' own stops.
  return {
    startToCloseTimeout: '1h',
    heartbeatTimeout: input.tuning.heartbeatTimeoutMs,
    retry: { initialInterval: '100ms', maximumInterval: '5s' },
  };
}

function gatedSpawnOptions(input: ServiceWorkflowInput): ActivityOptions {
  // It waits for its dependencies as long as the stack lets it (the stack blocks it at its deadline);
  // the heartbeat timeout hands it to the next worker after a crash. Cancelled without waiting: the
  // host makes a later spawn or a stop of the service supersede it at once.
  return {
    ...SHORT,
    startToCloseTimeout: '3650d',
    heartbeatTimeout: input.tuning.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  };
}

/**
 * A failed start's cause in a few words, when its exit does not tell it: the `cause` the activity
 * put in the ServiceStartError's details (src/activities/index.ts, `asStartFailure`).
 */
function startFailureOf(err: ActivityFailure): string | null {
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== 'ServiceStartError') return null;
  const details = cause.details?.[0] as { cause?: unknown } | undefined;
  return typeof details?.cause === 'string' ? details.cause : null;
}

function failureMessage(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.message;
  return cause?.message ?? err.message;
}

/** The Web UI's "Current Details" of a service workflow: its state, counts, pid, back-off and error. */
function serviceStateDetails(state: ServiceState, fields: Omit<ServiceReport, 'service' | 'state' | 'seq'>): string {
  const parts = [`**${state}**`, `restarts ${fields.restarts ?? 0} (crash) · ${fields.manualRestarts ?? 0} (manual)`];
  if (fields.pid) parts.push(`pid ${fields.pid}`);
  const b = fields.backoff;
  if (b) parts.push(`retry ${b.attempt}/${b.maxAttempts} in ${b.delayMs}ms after ${b.cause ?? describeExitShort(fields.lastExit)}`);
  return `${parts.join(' · ')}${fields.error ? `\n\n${fields.error}` : ''}`;
}

/** `pid 12 (sleep 3977), pid 13 (…)`: processes as messages name them. */
function describeProcesses(processes: ProcessRef[]): string {
  return processes.map((p) => `pid ${p.pid} (${p.command})`).join(', ');
}
