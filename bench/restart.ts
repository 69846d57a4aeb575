// Restart latency (issue 8 target 6): a one-service stack with `restart: on-failure`; the bench
// SIGKILLs the service once it is ready, three times, and times crash -> next spawn against the
// back-off the workflow drew for that restart.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stackWorkflowId, statusQuery } from '../src/workflows/definitions.js';
import { allocatePorts, stackflowStackFile, type StackInstance } from './generate.js';
import { timerDurations } from './history.js';
import { readStamps, type Stamp } from './metrics.js';
import { assertOk, killSurvivors, terminate, waitFor, type Cleanup } from './processes.js';
import { cliEnv, runStackflow, startWarmWorker, terminateStack, workerPid, type TemporalTarget } from './run-ours.js';

/** Back-off of restart 1, 2, 3: 300, 600, 1200 ms (the observation), ±10 % jitter. */
export const RESTART_BACKOFF = { initialMs: 300, factor: 2, crashes: 3 };

export interface RestartSample {
  /** The back-off of this restart: the workflow's timer when its history shows one, else the nominal value. */
  backoffMs: number;
  /** True when `backoffMs` is the timer the workflow started (jitter included), not the nominal value. */
  fromTimer: boolean;
  /** SIGKILL sent -> the next process's spawn stamp. */
  crashToSpawnMs: number;
  /** crashToSpawnMs - backoffMs: what stackflow adds to the back-off. */
  overheadMs: number;
}

const TIMEOUT_MS = 30_000;

async function nextStamp(timelineFile: string, match: (s: Stamp) => boolean, what: string): Promise<Stamp> {
  return waitFor(what, async () => (await readStamps(timelineFile)).find(match), TIMEOUT_MS, 5);
}

export async function runRestartLatency(temporal: TemporalTarget, runDir: string, python: string, cleanup: Cleanup): Promise<RestartSample[]> {
  const home = path.join(runDir, 'home');
  const env = cliEnv(temporal, home);
  const timelineFile = path.join(runDir, 'timeline.jsonl');
  const s: StackInstance = {
    dag: { names: ['s0'], deps: { s0: [] } },
    ports: await allocatePorts(['s0']),
    env: { READY_DELAY_MS: '0', TIMELINE_FILE: timelineFile, BENCH_PYTHON: python },
    timelineFile,
  };
  const name = 'bench-restart';
  const file = path.join(runDir, `${name}.yaml`);
  const { initialMs, factor, crashes } = RESTART_BACKOFF;
  const backoff = { initial: `${initialMs}ms`, factor, max: '30s' };
  await writeFile(file, stackflowStackFile(name, s, { policy: 'on-failure', max_restarts: crashes + 2, backoff }));
  cleanup.add('restart: service processes', () => killSurvivors(timelineFile));
  cleanup.add('restart: background worker', async () => {
    const pid = await workerPid(home).catch(() => null);
    if (pid !== null) await terminate(pid, 'stackflow', 15_000);
  });
  cleanup.add('restart: workflows', () => terminateStack(temporal.client, name));

  await startWarmWorker(home, env, temporal);
  assertOk('stackflow up -d (restart case)', await runStackflow(['up', '-d'], file, env, TIMEOUT_MS));
  const crashedAt: number[] = [];
  const spawns: Stamp[] = [];
  let current = await nextStamp(timelineFile, (st) => st.event === 'ready', 'the service to be ready');
  for (let i = 0; i < crashes; i++) {
    // Crash a process the workflow reports healthy (supervised), not one still being registered.
    const pid = current.pid;
    await waitFor(
      `the stack to report pid ${pid} healthy`,
      async () => {
        const status = await temporal.client.workflow.getHandle(stackWorkflowId(name)).query(statusQuery).catch(() => null);
        const svc = status?.services.s0;
        return svc?.state === 'healthy' && svc.pid === pid ? true : undefined;
      },
      TIMEOUT_MS,
      5,
    );
    crashedAt.push(Date.now());
    process.kill(pid, 'SIGKILL');
    spawns.push(await nextStamp(timelineFile, (st) => st.event === 'spawn' && st.pid !== pid && st.t > crashedAt[i]!, `restart ${i + 1}`));
    current = await nextStamp(timelineFile, (st) => st.event === 'ready' && st.pid === spawns[i]!.pid, `restart ${i + 1} to be ready`);
  }
  assertOk('stackflow down (restart case)', await runStackflow(['down'], file, env, TIMEOUT_MS));

  // Timers of the restarts: the first timer started after each crash whose length is within the jitter of the nominal back-off.
  const timers = await timerDurations(temporal.client, name);
  return crashedAt.map((t, i) => {
    const nominal = initialMs * factor ** i;
    const timer = timers.find((x) => x.startedAt >= t && Math.abs(x.ms - nominal) <= nominal * 0.11);
    const backoffMs = timer?.ms ?? nominal;
    const crashToSpawnMs = spawns[i]!.t - t;
    return { backoffMs, fromTimer: timer !== undefined, crashToSpawnMs, overheadMs: crashToSpawnMs - backoffMs };
  });
}
