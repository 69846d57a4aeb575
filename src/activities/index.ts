// Host activities: thin Temporal wrappers over the process manager, the probes and the registry.
// They run on `stackflow@<host>`, so every process they touch belongs to this machine.
import { ApplicationFailure, Context, CancelledFailure } from '@temporalio/activity';
import { ProcessManager } from '../process/manager.js';
import { ServiceStartError } from '../process/errors.js';
import { readRecord, type ProcessRecord } from '../process/record.js';
import type { ProbeContext } from '../health/probes.js';
import { loopbackUrl } from '../health/listeners.js';
import { waitUntilReady, ReadinessTimeoutError } from '../health/poller.js';
import { watchLiveness } from '../health/liveness.js';
import { FileRegistry } from '../registry/registry.js';
import { LOG_ROTATION_DEFAULTS, rotateIfLarger } from '../process/log-rotation.js';
import { restartOnChange } from '../watch/restart-on-change.js';
import type { ExitInfo, ServiceSpec, ShutdownSettings } from '../model.js';
import {

  type HealthyResult,
  type ProcessInput,
  type RegisterInput,
  type ServiceActivityInput,
  type SpawnInput,
  type SpawnResult,
  type StopResult,
  type SupervisionResult,
} from './contract.js';

/** How often long activities heartbeat; the SDK throttles what actually reaches the server. */
const HEARTBEAT_EVERY_MS = 1000;

export function createActivities() {
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
    async spawnService({ stackDir, spec, workflowId, runId }: SpawnInput): Promise<SpawnResult> {
      try {
        const { record, adopted } = await managerFor(stackDir).spawn(spec, { workflowId, runId });
        return { pid: record.pid, startedAt: record.startedAt, adopted };
      } catch (err) {
        throw asStartFailure(err);
      }
    },

    async awaitHealthy({ stackDir, spec, pid }: ProcessInput): Promise<HealthyResult> {
      const manager = managerFor(stackDir);
      const record = await requireRecord(stackDir, spec.name, pid);
      return withHeartbeats({ pid }, async (signal) => {
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
          throw asStartFailure(err);
        }
      });
    },

    async registerService({ stackDir, spec, pid, healthyAt }: RegisterInput): Promise<void> {
      await registryFor(stackDir).register(spec.name, {
        url: spec.port ? loopbackUrl(spec.port) : null,
        host: spec.host,
        port: spec.port ?? null,
        pid,
        healthyAt,
      });
    },

    async deregisterService({ stackDir, spec }: ServiceActivityInput): Promise<void> {
      await registryFor(stackDir).deregister(spec.name);
    },

    async superviseService({ stackDir, spec, pid }: ProcessInput): Promise<SupervisionResult> {
      const manager = managerFor(stackDir);
      const record = await readRecord(stackDir, spec.name);
      // A process that already ended still reports its exit code when this worker spawned it.
      if (!record || record.pid !== pid) {
        return { reason: 'exit', exit: null, detail: `${spec.name}: process ${pid} is gone` };
      }
      return withHeartbeats({ pid }, async (signal) => {
        const rotation = setInterval(() => {
          rotateIfLarger(record.logFile, LOG_ROTATION_DEFAULTS.maxBytes, LOG_ROTATION_DEFAULTS.keep).catch(() => {
            // A failed rotation only leaves the file larger; supervision goes on.
          });
        }, LOG_ROTATION_DEFAULTS.checkIntervalMs);
        signal.addEventListener('abort', () => clearInterval(rotation));
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
    },

    async stopService({ stackDir, spec }: ServiceActivityInput): Promise<StopResult> {
      return stopRecorded(managerFor(stackDir), stackDir, spec.name, spec.shutdown);
    },

    async killService({ stackDir, spec }: ServiceActivityInput): Promise<StopResult> {
      return stopRecorded(managerFor(stackDir), stackDir, spec.name, { signal: 'SIGKILL', timeoutMs: 0 });
    },
  };
}

async function stopRecorded(manager: ProcessManager, stackDir: string, service: string, settings: ShutdownSettings): Promise<StopResult> {
  const record = await readRecord(stackDir, service);
  if (!record) return manager.endStrays(service);
  // Heartbeats, but a stop once begun is finished whatever the workflow says meanwhile.
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat({ pid: record.pid }), HEARTBEAT_EVERY_MS);
  ctx.heartbeat({ pid: record.pid });
  try {
    return await manager.stop(record, settings);
  } finally {
    clearInterval(beat);
  }
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
 * Runs `work` with a heartbeat loop and an abort signal that fires on cancellation. On worker
 * shutdown the services stay up: the signal aborts the waiting, never the process.
 */
async function withHeartbeats<T>(details: { pid: number }, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const controller = new AbortController();
  // The pid shows under Pending Activities in the UI and reaches a retried attempt.
  ctx.heartbeat(details);
  const beat = setInterval(() => ctx.heartbeat(details), HEARTBEAT_EVERY_MS);
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

function asStartFailure(err: unknown): unknown {
  if (err instanceof CancelledFailure) return err;
  if (err instanceof ServiceStartError) {
    return ApplicationFailure.create({ message: err.message, type: 'ServiceStartError', nonRetryable: true, details: [err.details] });
  }
  return err;
}

function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code === null) return 'exited (code unknown: adopted process)';
  return `exited with code ${exit.code}`;
}

