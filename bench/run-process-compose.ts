// process-compose, the closest peer, on the same stack: headless, readiness read from its REST API.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { findFreePort } from '../src/temporal/dev-server.js';
import { processComposeFile, type StackInstance } from './generate.js';
import { drainMetrics, readTimeline, startMetrics } from './metrics.js';
import { Cleanup, cpuMs, isAlive, peakRss, runCommand, terminate, waitFor } from './processes.js';
import type { RunResult } from './report.js';

export function processComposeCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || homedir(), '.cache');
  return path.join(cacheHome, 'stackflow', 'process-compose');
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** PROCESS_COMPOSE_PATH, then PATH, then the user cache; the bench never installs or builds it. */
export async function findProcessCompose(): Promise<string | null> {
  const explicit = process.env.PROCESS_COMPOSE_PATH;
  if (explicit) return (await executable(explicit)) ? explicit : null;
  const candidates = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'process-compose')),
    path.join(processComposeCacheDir(), 'process-compose'),
  ];
  for (const file of candidates) if (await executable(file)) return file;
  return null;
}

export async function processComposeVersion(bin: string): Promise<string> {
  const result = await runCommand(bin, ['version', '--short'], { timeoutMs: 10_000 });
  // it logs JSON debug lines on stderr around the answer
  return result.output.split('\n').find((line) => /^v\d+\.\d+/.test(line.trim()))?.trim() ?? '?';
}

interface ProcessState {
  name: string;
  is_ready: string;
  status: string;
  process_ready_time?: string;
}

async function states(port: number): Promise<ProcessState[] | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/processes`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? ((await response.json()) as { data: ProcessState[] }).data : null;
  } catch {
    return null; // not listening yet
  }
}

export async function runProcessCompose(bin: string, s: StackInstance, runDir: string, cleanup: Cleanup, timeoutMs: number): Promise<RunResult> {
  const file = path.join(runDir, 'process-compose.yaml');
  await writeFile(file, processComposeFile(s));
  const port = await findFreePort();
  const out = openSync(path.join(runDir, 'process-compose.out'), 'a');
  const upStart = Date.now();
  const child = spawn(bin, ['up', '-f', file, '-t=false', '-p', String(port), '-L', path.join(runDir, 'process-compose.log')], {
    cwd: runDir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.add('process-compose', () => terminate(pid, 'process-compose', 10_000));

  const ready = await waitFor(
    'process-compose to report every process ready',
    async () => {
      if (!isAlive(pid)) throw new Error(`process-compose exited early; see ${runDir}/process-compose.out`);
      const list = await states(port);
      if (list?.some((p) => p.status === 'Error' || p.status === 'Skipped')) throw new Error(`a process failed: ${JSON.stringify(list.find((p) => p.status === 'Error' || p.status === 'Skipped'))}`);
      return list && list.length === s.dag.names.length && list.every((p) => p.is_ready === 'Ready') ? list : undefined;
    },
    timeoutMs,
    50,
  );
  // Its own record of when the last probe passed (favours it slightly over our CLI's return time).
  const upEnd = Math.max(...ready.map((p) => Date.parse(p.process_ready_time ?? '') || Date.now()));
  const rss = peakRss(pid);
  const cpu = { orchestratorMs: cpuMs(pid), temporalServerMs: null };
  const start = startMetrics(s.dag, await readTimeline(s.timelineFile), upStart, upEnd);

  const downStart = Date.now();
  const down = await runCommand(bin, ['down', '-p', String(port)], { timeoutMs });
  // Its server may drop the connection while it shuts down (`down` then exits 1 with EOF): what
  // counts is that process-compose itself exits.
  await waitFor(`process-compose to exit after \`down\` (${down.output.split('\n').at(-1)})`, () => (isAlive(pid) ? undefined : true), timeoutMs, 10);
  await exited;
  const drain = drainMetrics(await readTimeline(s.timelineFile), downStart, Date.now());
  return { runner: 'process-compose', start, drain, peakRssBytes: rss, cpu, history: null, leftovers: 0 };
}
