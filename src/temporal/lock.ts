import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive, processStartTime } from '../process/terminate.js';

interface LockOwner {
  pid: number;
  startTime: number | null;
}

async function readOwner(lockPath: string): Promise<LockOwner | 'missing' | 'invalid'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return typeof owner.pid === 'number' ? { pid: owner.pid, startTime: owner.startTime ?? null } : 'invalid';
  } catch {
    return 'invalid';
  }
}

async function isStale(owner: LockOwner): Promise<boolean> {
  return !isProcessAlive(owner.pid) || (await processStartTime(owner.pid)) !== owner.startTime;
}

async function tryAcquire(lockPath: string, content: string): Promise<boolean> {
  // link() publishes a fully written file atomically and fails if the lock already exists.
  const staging = `${lockPath}.${process.pid}.${randomUUID()}`;
  await writeFile(staging, content);
  try {
    await link(staging, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(staging);
  }
}

/**
 * Runs `fn` while holding an inter-process lock file. A lock whose owner died is taken over;
 * `onWait` is called once, with the owner's pid, if another live process holds the lock.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  onWait?: (ownerPid: number) => void,
): Promise<T> {
  const content = JSON.stringify({ pid: process.pid, startTime: await processStartTime(process.pid) });
  let waitReported = false;
  while (!(await tryAcquire(lockPath, content))) {
    const owner = await readOwner(lockPath);
    if (owner === 'missing') continue;
    if (owner === 'invalid' || (await isStale(owner))) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (!waitReported) {
      waitReported = true;
      onWait?.(owner.pid);
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
