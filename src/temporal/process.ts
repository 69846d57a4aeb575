import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

const hasProcFs = existsSync('/proc/self/stat');

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself contain spaces and parentheses. */
function procStatFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * An opaque value that changes when a pid is reused: the kernel start time on Linux, `ps`'s
 * start timestamp elsewhere; null when the process does not exist.
 */
export async function processStartTime(pid: number): Promise<string | null> {
  if (hasProcFs) {
    // Field 22 (starttime) is the 20th after `(comm)`.
    return procStatFields(pid)?.[19] ?? null;
  }
  const ps = await execa('ps', ['-o', 'lstart=', '-p', String(pid)], { reject: false });
  const started = ps.exitCode === 0 ? String(ps.stdout).trim() : '';
  return started === '' ? null : started;
}

/** Zombies count as dead: a parent that never reaps them must not make us wait forever. */
export function isProcessAlive(pid: number): boolean {
  if (hasProcFs) {
    const state = procStatFields(pid)?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, group: boolean, sig: NodeJS.Signals): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** SIGTERM, then SIGKILL once `graceMs` has passed; `group` signals the whole process group led by `pid`. */
export async function terminateProcess(pid: number, opts: { group: boolean; graceMs?: number }): Promise<void> {
  signal(pid, opts.group, 'SIGTERM');
  if (await waitForExit(pid, opts.graceMs ?? 5000)) return;
  signal(pid, opts.group, 'SIGKILL');
  if (!(await waitForExit(pid, 2000))) throw new Error(`process ${pid} survived SIGKILL`);
}
