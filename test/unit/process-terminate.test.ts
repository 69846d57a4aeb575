import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopEmbedded } from '../../src/temporal/embedded.js';
import { withFileLock } from '../../src/temporal/lock.js';
import { isProcessAlive, processStartTime, terminateProcess } from '../../src/process/terminate.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stackflow-process-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A process in its own group, like the embedded server; `trapTerm` makes it ignore SIGTERM. */
function spawnSleeper(trapTerm = false): number {
  const child = spawn('sh', ['-c', `${trapTerm ? "trap '' TERM; " : ''}sleep 30 & wait`], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid as number;
}

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('process identity and termination', () => {
  test('start time is stable for a live process and null once it is gone', async () => {
    const first = await processStartTime(process.pid);
    expect(first).not.toBeNull();
    expect(await processStartTime(process.pid)).toBe(first);
    const pid = await deadPid();
    expect(await processStartTime(pid)).toBeNull();
    expect(isProcessAlive(pid)).toBe(false);
  });

  test('SIGTERM stops a process group', async () => {
    const pid = spawnSleeper();
    await terminateProcess(pid, { group: true });
    expect(isProcessAlive(pid)).toBe(false);
  });

  test('SIGKILL follows when SIGTERM is ignored', async () => {
    const pid = spawnSleeper(true);
    await sleep(100); // let the shell install its trap
    const started = Date.now();
    await terminateProcess(pid, { group: true, graceMs: 300 });
    expect(isProcessAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });
});

describe('withFileLock', () => {
  test('serialises holders and removes the lock afterwards', async () => {
    const lock = path.join(dir, 'x.lock');
    const events: string[] = [];
    const hold = (name: string) =>
      withFileLock(lock, async () => {
        events.push(`${name}+`);
        await sleep(50);
        events.push(`${name}-`);
      });
    await Promise.all([hold('a'), hold('b')]);
    // Either may win the race for the lock; the other enters only once the first has left.
    const first = events[0]!.slice(0, 1);
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first}+`, `${first}-`, `${second}+`, `${second}-`]);
    expect(await readdir(dir)).toEqual([]);
  });

  test('takes over a lock whose owner died, and one that is unreadable', async () => {
    const lock = path.join(dir, 'x.lock');
    await writeFile(lock, JSON.stringify({ pid: await deadPid(), startTime: '1' }));
    await expect(withFileLock(lock, async () => 'first')).resolves.toBe('first');
    await writeFile(lock, 'garbage');
    await expect(withFileLock(lock, async () => 'second')).resolves.toBe('second');
  });
});

describe('stopEmbedded', () => {
  const pidFile = () => path.join(dir, 'temporal.pid');

  test('returns false without a pid file', async () => {
    await expect(stopEmbedded(dir)).resolves.toBe(false);
  });

  test('never signals a process whose start time differs from the record (pid reuse)', async () => {
    const pid = spawnSleeper();
    try {
      await writeFile(pidFile(), JSON.stringify({ pid, startTime: 'not-its-start-time', address: '127.0.0.1:7233', uiUrl: null }));
      await expect(stopEmbedded(dir)).resolves.toBe(false);
      expect(isProcessAlive(pid)).toBe(true);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await terminateProcess(pid, { group: true });
    }
  });

  test('stops the recorded process when its identity matches', async () => {
    const pid = spawnSleeper();
    const startTime = await processStartTime(pid);
    await writeFile(pidFile(), JSON.stringify({ pid, startTime, address: '127.0.0.1:7233', uiUrl: 'http://127.0.0.1:8233' }));
    await expect(stopEmbedded(dir)).resolves.toBe(true);
    expect(isProcessAlive(pid)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });
});
