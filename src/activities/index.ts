// Host activities: thin Temporal wrappers over the process manager, the probes and the registry.
// They run on `stackflow@<host>`, so every process they touch belongs to this machine.
import { ApplicationFailure, Context, CancelledFailure } from '@temporalio/activity';
import { ProcessManager } from '../process/manager.js';
import { ServiceStartError, startFailureCause } from '../process/errors.js';
import { readRecord, type ProcessRecord } from '../process/record.js';
import type { ProbeContext } from '../health/probes.js';
import { loopbackUrl } from '../health/listeners.js';
import { waitUntilReady, ReadinessTimeoutError } from '../health/poller.js';
import { watchLiveness } from '../health/liveness.js';
import { FileRegistry } from '../registry/registry.js';
import { LOG_ROTATION_DEFAULTS, rotateIfLarger } from '../process/log-rotation.js';
import { ReadinessBus } from '../host/readiness-bus.js';
import { cpuPercent, sampleGroup, type GroupSample } from '../process/proc.js';
import type { ResourceSample } from '../lifecycle/hosts.js';
import { describeGates } from '../lifecycle/plan.js';
import { restartOnChange } from '../watch/restart-on-change.js';
import { appendLogMarker, sampleLogTimes } from '../process/log-times.js';
import { describeExitShort } from '../lifecycle/backoff.js';
import type { ExitInfo, ServiceSpec, ShutdownSettings } from '../model.js';
import { serviceReportSignal, type ServiceReport } from '../workflows/definitions.js';
import type {
  AwaitHealthyInput,
  HealthyResult,
  ProcessInput,
  ReportTo,
  ServiceActivityInput,
  SpawnInput,
  SpawnResult,
  StopInput,
  StopResult,
  SupervisionResult,
} from './contract.js';

/** How often long activities heartbeat; the SDK throttles what actually reaches the server. */
const HEARTBEAT_EVERY_MS = 1000;

/** How often supervision samples its process group's CPU and memory for the heartbeat (`status` reads it). */
const RESOURCE_SAMPLE_EVERY_MS = 2000;

/** What the host activities share besides the file system: the worker's readiness bus, and where the host is reached. */
export interface ActivityCollaborators {
  bus?: ReadinessBus;
  /** The address other hosts reach this host's services at (`worker --advertise`); returned with each spawn. */
  address?: string;
}

/**
 * The host activities of one worker. Every activity feeds the readiness bus with what it sees
 * (spawned -> started, ready -> healthy, exit 0 -> completed, stop -> stopped), which gated spawns
 * and ordered stops of the same host wait on.
 */
export function createActivities({ bus = new ReadinessBus(), address = '127.0.0.1' }: ActivityCollaborators = {}) {
  const managers = new Map<string, ProcessManager>();
  const registries = new Map<string, FileRegistry>();
  // One manager per stack directory for the worker's lifetime: it remembers its own children,
  // which is what lets supervision see their real exit codes.
  const managerFor = (stackDir: string): ProcessManager => {
    let manager = managers.get(stackDir);
    if (!manager) managers.set(stackDir, (manager = new ProcessManager(stackDir)));
    return manager;
  };
  const registryFor = (stackDir: string): FileRegistry => {
    let registry = registries.get(stackDir);
    if (!registry) registries.set(stackDir, (registry = new FileRegistry(`${stackDir}/registry.json`)));
    return registry;
  };

  return {
    async spawnService({ stackDir, spec, workflowId, runId, waitFor = [], marker, reportTo }: SpawnInput): Promise<SpawnResult> {
      return bus.runSpawn(stackDir, spec.name, async (superseded) => {
        const waitStart = Date.now();
        if (waitFor.length && !bus.met(stackDir, waitFor)) {
          await withHeartbeats(() => ({ waitingFor: describeGates(waitFor) }), (signal) =>
            bus.waitForDependencies(stackDir, waitFor, AbortSignal.any([signal, superseded])),
          );
        }
        const waited = waitFor.length ? { for: describeGates(waitFor), ms: Date.now() - waitStart } : undefined;
        bus.publish(stackDir, spec.name, 'spawning');
        try {
          const { record, adopted } = await managerFor(stackDir).spawn(spec, { workflowId, runId }, marker);
          bus.publish(stackDir, spec.name, 'started', record.pid);
          await tellStack(reportTo, { pid: record.pid, startedAt: record.startedAt, address });
          return { pid: record.pid, startedAt: record.startedAt, adopted, address, ...(waited && { waited }) };
        } catch (err) {
          bus.publish(stackDir, spec.name, 'exited');
          throw asStartFailure(err);
        }
      });
    },

    async awaitHealthy({ stackDir, spec, pid, reportTo }: AwaitHealthyInput): Promise<HealthyResult> {
      const manager = managerFor(stackDir);
      const record = await requireRecord(stackDir, spec.name, pid);
      const result = await withHeartbeats(() => ({ pid }), async (signal) => {
        sampleLogTimes(record.logFile, signal);
        // A process that dies while we probe fails the attempt at once, with its exit and log tail.
        const logTail = () => manager.tailLog(spec.name, 20, record.logOffset);
        const exited = manager.waitForExit(record, signal).then(async (exit): Promise<HealthyResult> => {
          if (exit.code === 0) return { kind: 'exited', exit };
          throw ServiceStartError.fromExit(spec.name, spec.command, exit, await logTail());
        });
        try {
          const ready = waitUntilReady(spec.health, { ...probeContext(record, spec, manager), signal }).then(
            (r): HealthyResult => ({ kind: 'healthy', healthyAt: new Date().toISOString(), attempts: r.attempts, detail: r.detail }),
          );
          return await Promise.race([ready, exited]);
        } catch (err) {
          if (err instanceof ReadinessTimeoutError) {
            throw asStartFailure(
              new ServiceStartError({
                service: spec.name,
                command: spec.command,
                reason: 'timeout',
                logTail: await logTail(),
                detail: err.message,
              }),
            );
          }
          bus.publish(stackDir, spec.name, 'exited', pid);
          throw asStartFailure(err);
        }
      });
      if (result.kind === 'exited') {
        bus.publish(stackDir, spec.name, endedFact(spec, result.exit), pid);
        return result;
      }
      // Registered before anyone hears `healthy` (a dependent, `up -d`): it is found in registry.json.
      const registryError = await bookkeeping(() =>
        registryFor(stackDir).register(spec.name, {
          url: spec.port ? loopbackUrl(spec.port) : null,
          host: spec.host,
          port: spec.port ?? null,
          pid,
          healthyAt: result.healthyAt,
        }),
      );
      bus.publish(stackDir, spec.name, 'healthy', pid);
      await tellStack(reportTo, { healthyAt: result.healthyAt, error: registryError ?? null });
      return registryError ? { ...result, registryError } : result;
    },

    async superviseService({ stackDir, spec, pid }: ProcessInput): Promise<SupervisionResult> {
      const manager = managerFor(stackDir);
      const record = await readRecord(stackDir, spec.name);
      // A process that already ended still reports its exit code when this worker spawned it.
      if (!record || record.pid !== pid) {
        return { reason: 'exit', exit: null, detail: `${spec.name}: process ${pid} is gone` };
      }
      // Supervision resumed after an adoption (a worker restart) re-establishes what the bus lost.
      if (bus.fact(stackDir, spec.name) !== 'healthy') bus.publish(stackDir, spec.name, 'healthy', pid);
      const sampler = new GroupSampler(pid);
      // Sampled before the first heartbeat, which the SDK sends at once (later ones are throttled).
      await sampler.sample();
      const ended = await withHeartbeats(() => sampler.latest() ?? { pid }, async (signal) => {
        const sampling = setInterval(() => void sampler.sample(), RESOURCE_SAMPLE_EVERY_MS);
        signal.addEventListener('abort', () => clearInterval(sampling));
        const rotation = setInterval(() => {
          rotateIfLarger(record.logFile, LOG_ROTATION_DEFAULTS.maxBytes, LOG_ROTATION_DEFAULTS.keep).catch(() => {
            // A failed rotation only leaves the file larger; supervision goes on.
          });
        }, LOG_ROTATION_DEFAULTS.checkIntervalMs);
        signal.addEventListener('abort', () => clearInterval(rotation));
        sampleLogTimes(record.logFile, signal);
        // `watch:` lives as long as this supervision: a worker that adopts the service watches again.
        if (spec.watch) {
          const { client, log } = Context.current();
          restartOnChange(spec, { client, log, signal, processStartedMs: Date.parse(record.startedAt) });
        }
        const exit = manager.waitForExit(record, signal).then(
          (info): SupervisionResult => ({ reason: 'exit', exit: info, detail: `${spec.name}: ${describeExit(info)}` }),
        );
        const races: Promise<SupervisionResult>[] = [exit];
        if (spec.liveness) {
          races.push(
            watchLiveness(spec.liveness, { ...probeContext(record, spec, manager), signal }).then((failure) => ({
              reason: 'liveness' as const,
              exit: null,
              detail: `${spec.name}: liveness failed ${spec.liveness!.failureThreshold} times: ${failure.detail}`,
            })),
          );
        }
        return Promise.race(races);
      });
      if (ended.reason === 'exit' && ended.exit) bus.publish(stackDir, spec.name, endedFact(spec, ended.exit), pid);
      return ended;
    },

    async stopService({ stackDir, spec, after = [], marker }: StopInput): Promise<StopResult> {
      const stopped = await stopService(stackDir, spec, spec.shutdown, after);
      // The process group is gone: nothing else writes to its log now.
      if (marker) {
        const exit = marker.exit ?? stopped.exit;
        await appendLogMarker(managerFor(stackDir).logFile(spec.name), `— ${marker.cause ?? describeExitShort(exit)}, ${marker.then}`);
      }
      return stopped;
    },

    async killService({ stackDir, spec }: ServiceActivityInput): Promise<StopResult> {
      return stopService(stackDir, spec, { signal: 'SIGKILL', timeoutMs: 0 }, []);
    },
  };

  /**
   * Removes the registry entry, waits until the same-host dependents in `after` have no process
   * left, then stops the recorded process. The stop runs whatever happens to the bookkeeping: a
   * registry failure is returned after it, never instead of it.
   */
  async function stopService(stackDir: string, spec: ServiceSpec, settings: ShutdownSettings, after: string[]): Promise<StopResult> {
    // A spawn of this service still waiting at its gate gives way first (stop beats start).
    await bus.supersedeSpawn(stackDir, spec.name);
    const registryError = await bookkeeping(() => registryFor(stackDir).deregister(spec.name));
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat({ service: spec.name }), HEARTBEAT_EVERY_MS);
    ctx.heartbeat({ service: spec.name });
    try {
      let waitedForDependentsMs: number | undefined;
      if (after.length) {
        const waitStart = Date.now();
        // Not cancellable by design: a stop once begun is finished; the dependents' own stops end the wait.
        await bus.waitForStopped(stackDir, after, new AbortController().signal);
        waitedForDependentsMs = Date.now() - waitStart;
      }
      const stopped = await stopRecorded(managerFor(stackDir), stackDir, spec.name, settings);
      // A job that completed stays `completed` for whoever waits on completed_successfully.
      if (bus.fact(stackDir, spec.name) !== 'completed') bus.publish(stackDir, spec.name, 'stopped');
      return {
        ...stopped,
        ...(waitedForDependentsMs !== undefined && { waitedForDependentsMs }),
        ...(registryError && { registryError }),
      };
    } finally {
      clearInterval(beat);
    }
  }
}

/** The fact a process exit establishes: `completed` only when its restart policy will not run it again (SPEC §4). */
function endedFact(spec: ServiceSpec, exit: ExitInfo) {
  return exit.code === 0 && !exit.signal && spec.restart.policy !== 'always' ? 'completed' : 'exited';
}

/**
 * Sends the stack workflow the activity's report (SPEC §5 `serviceReport`), completed with what the
 * activity learned. A stack workflow that is gone (terminated by hand) changes nothing for the service.
 */
export async function tellStack(reportTo: ReportTo | undefined, learned: Partial<ServiceReport>): Promise<void> {
  if (!reportTo) return;
  try {
    await Context.current().client.workflow.getHandle(reportTo.workflowId).signal(serviceReportSignal, { ...reportTo.report, ...learned });
  } catch {
    // Its seq makes a report sent again by a retry harmless; one that cannot be sent is superseded by the next.
  }
}

/** Runs a registry change; its failure comes back as a message instead of failing the lifecycle step. */
async function bookkeeping(change: () => Promise<void>): Promise<string | undefined> {
  try {
    await change();
    return undefined;
  } catch (err) {
    return `registry.json not updated: ${(err as Error).message}`;
  }
}

async function stopRecorded(manager: ProcessManager, stackDir: string, service: string, settings: ShutdownSettings): Promise<StopResult> {
  const record = await readRecord(stackDir, service);
  if (!record) return manager.endStrays(service);
  return manager.stop(record, settings);
}

/** What the probes need to know of this run: its own log lines, its identity, its environment. */
function probeContext(record: ProcessRecord, spec: ServiceSpec, manager: ProcessManager): ProbeContext {
  return {
    processes: async () => (await manager.processesOf(record)).map((p) => p.pid),
    logFile: record.logFile,
    logOffset: record.logOffset,
    pid: record.pid,
    startTime: record.startTime,
    cwd: spec.cwd,
    env: spec.env,
  };
}

async function requireRecord(stackDir: string, service: string, pid: number) {
  const record = await readRecord(stackDir, service);
  if (!record || record.pid !== pid) {
    throw ApplicationFailure.nonRetryable(`${service}: no process record for pid ${pid}`, 'ServiceStartError');
  }
  return record;
}

/**
 * CPU and memory of one process group, sampled on its own host: the heartbeat details of its
 * supervision, which `status` reads from the server (never from another machine's /proc).
 */
class GroupSampler {
  private previous: GroupSample | undefined;
  private current: ResourceSample | undefined;

  constructor(private readonly pid: number) {}

  latest(): ResourceSample | undefined {
    return this.current;
  }

  async sample(): Promise<void> {
    try {
      const next = await sampleGroup(this.pid);
      const cpu = this.previous ? Math.round(cpuPercent(this.previous, next) * 10) / 10 : null;
      this.previous = next;
      this.current = { pid: this.pid, cpuPercent: cpu, memoryBytes: next.rssBytes, sampledAt: new Date().toISOString() };
    } catch {
      // /proc unreadable for a moment: the previous sample stands.
    }
  }
}

/**
 * Runs `work` with a heartbeat loop and an abort signal that fires on cancellation. On worker
 * shutdown the services stay up: the signal aborts the waiting, never the process. `details` is
 * called for each heartbeat.
 */
async function withHeartbeats<T>(details: () => object, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const controller = new AbortController();
  // The pid shows under Pending Activities in the UI and reaches a retried attempt.
  ctx.heartbeat(details());
  const beat = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_EVERY_MS);
  const onCancel = ctx.cancelled.catch((err: unknown) => {
    controller.abort(err);
    throw err;
  });
  try {
    return await Promise.race([work(controller.signal), onCancel]);
  } finally {
    clearInterval(beat);
    controller.abort();
  }
}

/**
 * A ServiceStartError as the non-retryable ApplicationFailure the service workflow reads (type
 * `ServiceStartError`, its details plus `cause`, see `startFailureCause`); anything else unchanged.
 */
export function asStartFailure(err: unknown): unknown {
  if (err instanceof CancelledFailure) return err;
  if (err instanceof ServiceStartError) {
    // `cause`: the few words the service workflow puts in its retry line and log marker.
    const details = { ...err.details, cause: startFailureCause(err.details) };
    return ApplicationFailure.create({ message: err.message, type: 'ServiceStartError', nonRetryable: true, details: [details] });
  }
  return err;
}

function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code === null) return 'exited (code unknown: adopted process)';
  return `exited with code ${exit.code}`;
}

