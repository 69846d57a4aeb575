// Recovery-test helpers: `stackflow worker` as a separate OS process (so it can be SIGKILLed like a
// real crash), polling with a deadline instead of sleeping, and the process table as the truth.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { readStat, isZombie } from '../../src/process/proc.js';

const CLI = resolve('bin/stackflow.js');

export interface WorkerProcess {
  pid: number;
  /** When the process was spawned (epoch ms). */
  startedAt: number;
  /** When it printed that its workers exist (epoch ms); their pollers start right after. */
  readyAt: number;
  /** The Temporal worker identity (`<pid>@<hostname>`), as describe() shows it on pending activities. */
  identity: string;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (a crash: no graceful shutdown) and wait for the exit. */
  crash(): Promise<void>;
  /** SIGTERM (graceful shutdown) and wait for the exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

const started = new Set<WorkerProcess>();

/**
 * Runs `node bin/stackflow.js worker` against `address` on `taskQueue` and resolves once it says its
 * workers are created. The environment is the test's own minus every TEMPORAL_* variable, so a
 * developer's Temporal settings cannot leak in.
 */
export async function startWorkerProcess(opts: {
  address: string;
  taskQueue: string;
  host?: string;
  /** argv run before node, e.g. `ip netns exec <ns>` to put the worker on another test host. */
  prefix?: string[];
  /** More `stackflow worker` options, e.g. `['--advertise', '10.0.0.5']`. */
  args?: string[];
  /** Set over the environment described above (e.g. another STACKFLOW_ENCRYPTION_KEY). */
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
  Object.assign(env, {
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_NAMESPACE: 'default',
    // An absent config file: envconfig must take everything from the variables above.
    TEMPORAL_CONFIG_FILE: resolve('test/fixtures/no-such-temporal.toml'),
    STACKFLOW_TASK_QUEUE: opts.taskQueue,
    NODE_OPTIONS: '',
    ...opts.env,
  });
  const startedAt = Date.now();
  const [command, ...args] = [...(opts.prefix ?? []), process.execPath, CLI, 'worker', '--host', opts.host ?? 'local', ...(opts.args ?? [])];
  // `ip netns exec` execs the command in place: the pid is the worker's own.
  const child: ChildProcess = spawn(command, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const pid = child.pid!;

  const deadline = Date.now() + 30_000;
  while (!/stackflow worker for host/.test(output)) {
    if (hasExited) throw new Error(`worker process ${pid} exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker process ${pid} not ready after 30 s:\n${output}`);
    }
    await sleep(10);
  }
  const readyAt = Date.now();
  const { hostname } = await import('node:os');
  const worker: WorkerProcess = {
    pid,
    startedAt,
    readyAt,
    identity: `${pid}@${hostname()}`,
    output: () => output,
    exited,
    crash: async () => {
      if (!hasExited) child.kill('SIGKILL');
      await exited;
      started.delete(worker);
    },
    stop: async (timeoutMs = 10_000) => {
      if (!hasExited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      started.delete(worker);
    },
  };
  started.add(worker);
  return worker;
}

/** SIGKILLs every worker process still running (afterAll). */
export async function killAllWorkerProcesses(): Promise<void> {
  await Promise.all([...started].map((w) => w.crash()));
}

/** Polls `check` every `everyMs` until it returns a value other than undefined/false; throws at the deadline. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, everyMs = 20 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `; last error: ${String(lastError)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** The process exists and has not exited (a zombie counts as gone). */
export function isLive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== null && !isZombie(stat);
}

/**
 * The pending activity of a service workflow, as the server sees it: which activity, its attempt,
 * and which worker runs it now. Undefined when nothing is pending.
 */
export async function pendingActivity(
  client: Client,
  workflowId: string,
): Promise<{ type: string; attempt: number; started: boolean; worker: string } | undefined> {
  const description = await client.workflow.getHandle(workflowId).describe();
  const pending = description.raw.pendingActivities ?? [];
  const first = pending[0];
  if (!first) return undefined;
  return {
    type: first.activityType?.name ?? '?',
    attempt: first.attempt ?? 0,
    // PENDING_ACTIVITY_STATE_STARTED = 2 (1: scheduled, waiting for a worker; 3: cancel requested)
    started: Number(first.state) === 2,
    worker: first.lastWorkerIdentity ?? '',
  };
}
