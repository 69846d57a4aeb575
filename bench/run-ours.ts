// stackflow through its real CLI: `up -d`, measure, `down`. Cold: `up` has to start the background
// worker itself. Warm: a worker is already polling when `up` runs.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { CLI_ENTRY_PATH } from '../src/paths.js';
import { livePid, writePidFile } from '../src/process/pidfile.js';
import { DEFAULT_HOST } from '../src/model.js';
import { DEFAULT_TASK_QUEUE, hostTaskQueue } from '../src/workflows/definitions.js';
import { stackflowStackFile, type StackInstance } from './generate.js';
import { handoffTrace, historyStats } from './history.js';
import { drainMetrics, readTimeline, startMetrics } from './metrics.js';
import { assertOk, Cleanup, cpuMs, peakRss, runCommand, terminate, waitFor, type CommandResult } from './processes.js';
import type { RunResult } from './report.js';

export type Mode = 'cold' | 'warm';

export interface TemporalTarget {
  address: string;
  /** Its HTTP API (`host:port`), which `status` reads through when TEMPORAL_HTTP_ADDRESS names it. */
  httpAddress: string | null;
  client: Client;
  serverPid: number;
}

const WORKFLOW_QUEUE = 1; // TASK_QUEUE_TYPE_WORKFLOW
const ACTIVITY_QUEUE = 2; // TASK_QUEUE_TYPE_ACTIVITY

async function isPolling(client: Client, queue: string, type: number, pid: number): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: queue },
    taskQueueType: type,
  });
  // The SDK's default worker identity is `<pid>@<hostname>`; older workers stay listed for a while.
  return (response.pollers ?? []).some((p) => p.identity === `${pid}@${hostname()}`);
}

/** `stackflow worker`, registered as the background worker of `home` so that `up` uses it and `down` stops it. */
export async function startWarmWorker(home: string, env: NodeJS.ProcessEnv, temporal: TemporalTarget): Promise<{ pid: number; bootMs: number; idleRssBytes: number | null }> {
  await mkdir(home, { recursive: true });
  const spawnedAt = Date.now();
  const log = openSync(path.join(home, 'worker.log'), 'a');
  const child = spawn(process.execPath, [CLI_ENTRY_PATH, 'worker', '--host', DEFAULT_HOST], {
    detached: true,
    stdio: ['ignore', log, log],
    env,
  });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  await writePidFile(path.join(home, 'worker.pid'), pid);
  const polling = async () =>
    (await isPolling(temporal.client, DEFAULT_TASK_QUEUE, WORKFLOW_QUEUE, pid)) &&
    (await isPolling(temporal.client, hostTaskQueue(DEFAULT_TASK_QUEUE, DEFAULT_HOST), ACTIVITY_QUEUE, pid))
      ? true
      : undefined;
  await waitFor('the warm worker to poll both task queues', polling, 30_000, 20);
  return { pid, bootMs: Date.now() - spawnedAt, idleRssBytes: peakRss(pid) };
}

/** The live background worker of `home` (its pid file: one decimal pid, identity checked). */
export async function workerPid(home: string): Promise<number> {
  const pid = await livePid(path.join(home, 'worker.pid'));
  if (pid === null) throw new Error(`no live background worker in ${home}`);
  return pid;
}

/** The environment of every stackflow command the bench runs: the bench's server, its own home, no colours. */
export function cliEnv(temporal: TemporalTarget, home: string): NodeJS.ProcessEnv {
  // As a user of the embedded server has it: `status` reads over the HTTP API.
  const http = temporal.httpAddress === null ? {} : { TEMPORAL_HTTP_ADDRESS: temporal.httpAddress };
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporal.address, ...http, STACKFLOW_HOME: home, NO_COLOR: '1' };
  delete env.TEMPORAL_NAMESPACE;
  delete env.STACKFLOW_TASK_QUEUE;
  return env;
}

/** `stackflow <args> -c <stackFile>` (no `-c` when `stackFile` is null), bounded by `timeoutMs`. */
export function runStackflow(args: string[], stackFile: string | null, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI_ENTRY_PATH, ...args, ...(stackFile === null ? [] : ['-c', stackFile])], { env, timeoutMs });
}

/** Terminates every running workflow of `stack` (found by its StackName search attribute). */
export async function terminateStack(client: Client, stack: string): Promise<void> {
  const running: string[] = [];
  for await (const w of client.workflow.list({ query: `StackName = '${stack}' AND ExecutionStatus = 'Running'` })) running.push(w.workflowId);
  await Promise.all(running.map((id) => client.workflow.getHandle(id).terminate('bench cleanup').catch(() => undefined)));
}

export async function runOurs(
  mode: Mode,
  stackName: string,
  s: StackInstance,
  runDir: string,
  temporal: TemporalTarget,
  cleanup: Cleanup,
  timeoutMs: number,
  trace: boolean,
): Promise<RunResult> {
  const home = path.join(runDir, 'home');
  const stackFile = path.join(runDir, 'stack.yaml');
  await writeFile(stackFile, stackflowStackFile(stackName, s));
  const env = cliEnv(temporal, home);
  const cli = (args: string[]) => runStackflow(args, stackFile, env, timeoutMs);
  // After a failed run its workflows would keep running and load the next run's worker.
  cleanup.add(`${stackName}: workflows left running`, () => terminateStack(temporal.client, stackName));
  cleanup.add(`${stackName}: background worker`, async () => {
    const pid = await workerPid(home).catch(() => null);
    if (pid !== null) await terminate(pid, 'stackflow', 15_000);
  });

  const warmWorker = mode === 'warm' ? await startWarmWorker(home, env, temporal) : null;
  const cpuBefore = { worker: warmWorker ? cpuMs(warmWorker.pid) : 0, server: cpuMs(temporal.serverPid) };
  const up = await cli(['up', '-d']);
  await writeFile(path.join(runDir, 'up.out'), up.output);
  assertOk('stackflow up -d', up);
  const worker = await workerPid(home);
  const cpu = { orchestratorMs: cpuMs(worker) - cpuBefore.worker, temporalServerMs: cpuMs(temporal.serverPid) - cpuBefore.server };
  const rss = peakRss(worker);
  const started = await readTimeline(s.timelineFile);
  const start = startMetrics(s.dag, started, up.startedAt, up.endedAt);

  const down = await cli(['down']);
  await writeFile(path.join(runDir, 'down.out'), down.output);
  assertOk('stackflow down', down);
  const drain = drainMetrics(await readTimeline(s.timelineFile), down.startedAt, down.endedAt);

  const history = await historyStats(temporal.client, stackName, s.dag.names.length, s.dag.names.find((n) => s.dag.deps[n]!.length) ?? s.dag.names[0]!);
  const result: RunResult = { runner: `ours-${mode}`, start, drain, peakRssBytes: rss, cpu, history, leftovers: 0 };
  if (warmWorker) Object.assign(result, { workerBootMs: warmWorker.bootMs, workerIdleRssBytes: warmWorker.idleRssBytes });
  if (trace && start.handoffs.length) {
    const sorted = [...start.handoffs].sort((a, b) => a.ms - b.ms);
    const median = sorted[Math.ceil(sorted.length / 2) - 1]!;
    const worst = sorted.at(-1)!;
    result.traces = {
      median: { handoff: median, steps: await handoffTrace(temporal.client, stackName, median, started) },
      max: { handoff: worst, steps: await handoffTrace(temporal.client, stackName, worst, started) },
    };
  }
  return result;
}
