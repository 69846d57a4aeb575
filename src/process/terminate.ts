// Background processes stackflow starts besides services (dev server, worker, lock owners), seen
// through the same /proc identity as service processes: pid + start time.
import { setTimeout as sleep } from 'node:timers/promises';
import { isZombie, readStat } from './proc.js';

/** Changes when a pid is reused; null when the process does not exist. */
export async function processStartTime(pid: number): Promise<number | null> {
  return readStat(pid)?.startTime ?? null;
}

/** Zombies count as dead: a parent that never reaps them must not make us wait forever. */
export function isProcessAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== null && !isZombie(stat);
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
