// Process plumbing for the bench: bounded commands, bounded waits, and a cleanup list that runs
// even when a run fails or the bench is interrupted.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { readStamps } from './metrics.js';

export interface CommandResult {
  code: number | undefined;
  output: string;
  startedAt: number;
  endedAt: number;
}

/** Runs a command to completion, killed after `timeoutMs`; never throws on a non-zero exit. */
export async function runCommand(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandResult> {
  const startedAt = Date.now();
  const result = await execa(file, args, { env: opts.env, timeout: opts.timeoutMs, reject: false, all: true, stdin: 'ignore' });
  return { code: result.exitCode, output: String(result.all ?? ''), startedAt, endedAt: Date.now() };
}

export function assertOk(what: string, r: CommandResult): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? 'on a timeout'}:\n${r.output.split('\n').slice(-25).join('\n')}`);
}

/** Polls `check` every `everyMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** CPU time (user + system) a process has used so far, in ms; 0 when it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: fields 14 and 15, USER_HZ = 100
  } catch {
    return 0;
  }
}

/** Busy and total CPU ticks of the whole machine (first line of /proc/stat). */
export function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Peak resident set (VmHWM) in bytes, or null when the process is gone. */
export function peakRss(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** SIGTERM the group (or the process), SIGKILL after `graceMs`; only if its command line still matches. */
export async function terminate(pid: number, mustContain: string, graceMs = 3000, group = true): Promise<void> {
  const send = (signal: NodeJS.Signals) => {
    if (!isAlive(pid) || !commandLine(pid).includes(mustContain)) return false;
    try {
      process.kill(group ? -pid : pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        return false;
      }
    }
    return true;
  };
  if (!send('SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  send('SIGKILL');
}

/** Command-line marks of the processes a bench stack runs: the fixture server and the example stack's services. */
const SERVICE_MARKS = ['svc.py', 'examples/services/'];
const serviceMark = (pid: number) => SERVICE_MARKS.find((mark) => commandLine(pid).includes(mark));

/** The service processes still alive among those a timeline file names: they should all be gone. */
export async function survivors(timelineFile: string): Promise<number[]> {
  const pids = new Set((await readStamps(timelineFile)).map((s) => s.pid));
  return [...pids].filter((pid) => isAlive(pid) && serviceMark(pid) !== undefined);
}

/** Kills whatever service processes of a run are left (each is its own process group leader). */
export async function killSurvivors(timelineFile: string): Promise<number> {
  const left = await survivors(timelineFile);
  await Promise.all(left.map((pid) => terminate(pid, serviceMark(pid) ?? SERVICE_MARKS[0]!, 500)));
  return left.length;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Cleanup steps, run last-in first-out, each bounded, whatever happened before. */
export class Cleanup {
  private steps: { label: string; run: () => Promise<unknown> }[] = [];

  add(label: string, run: () => Promise<unknown>): void {
    this.steps.push({ label, run });
  }

  async runAll(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await withTimeout(step.run(), 20_000, step.label);
      } catch (err) {
        console.error(`cleanup: ${step.label}: ${(err as Error).message}`);
      }
    }
  }
}
