import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LivenessSettings, Probe, ReadinessSettings } from '../../src/model.js';
import { watchLiveness } from '../../src/health/liveness.js';
import { ReadinessTimeoutError, pollDelays, waitUntilReady, type AttemptReport } from '../../src/health/poller.js';
import { LogCursor, compilePattern, execProbe, httpProbe, logProbe, processProbe, tcpProbe } from '../../src/health/probes.js';
import { ProcessManager } from '../../src/process/manager.js';
import { readStat } from '../../src/process/proc.js';
import type { ProcessRecord } from '../../src/process/record.js';
import { ProcessGroups, eventually, freePort, removeStackCgroups, serverCommand, serviceSpec, tempDir } from '../fixtures/proc/helpers.js';

const groups = new ProcessGroups();
let dir: { path: string; remove: () => Promise<void> };
let manager: ProcessManager;

beforeEach(async () => {
  dir = await tempDir();
  manager = new ProcessManager(dir.path);
});

afterEach(async () => {
  groups.killAll();
  await removeStackCgroups(dir.path);
  await dir.remove();
});

async function start(name: string, command: string[]): Promise<ProcessRecord> {
  const { record } = await manager.spawn(serviceSpec(name, command));
  groups.add(record.pgid);
  return record;
}

/** The wall-clock time at which the fixture server says it became ready. */
async function reportedReadyAt(record: ProcessRecord): Promise<number> {
  const match = await eventually(async () => /ready (\d+)/.exec(await readFile(record.logFile, 'utf8')), 5000, 'ready line');
  return Number(match[1]);
}

function readiness(probe: Probe, overrides: Partial<ReadinessSettings> = {}): ReadinessSettings {
  return { probe, intervalMs: 1000, timeoutMs: 1000, startPeriodMs: 0, readyTimeoutMs: 10_000, ...overrides };
}

const ctxFor = (record: ProcessRecord) => ({ logFile: record.logFile, logOffset: record.logOffset, pid: record.pid, startTime: record.startTime });

describe('pollDelays', () => {
  it('starts at 5 ms and grows slowly to the interval, then stays there', () => {
    const delays = pollDelays(1000);
    const taken = Array.from({ length: 200 }, () => delays.next().value);
    expect(taken[0]).toBe(5);
    for (let i = 1; i < taken.length; i++) expect(taken[i]).toBeGreaterThanOrEqual(taken[i - 1]!);
    expect(taken.at(-1)).toBe(1000);
    // Around 200 ms of waiting the pause is still short: readiness is seen within ~15 ms.
    let elapsed = 0;
    const pauseAt200 = taken.find((d) => (elapsed += d) >= 200);
    expect(pauseAt200).toBeLessThanOrEqual(16);
  });

  it('never exceeds a small interval', () => {
    const delays = pollDelays(3);
    expect([delays.next().value, delays.next().value]).toEqual([3, 3]);
  });
});

describe('probes', () => {
  it('http: reports the status, and the error when nothing listens', async () => {
    const port = await freePort();
    const probe = { kind: 'http', url: `http://127.0.0.1:${port}/health`, status: 200 } as const;
    expect(await httpProbe(probe, { timeoutMs: 1000 })).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${port}/health → ECONNREFUSED; [::1] → ECONNREFUSED`,
    });

    const record = await start('web', serverCommand(port, 60_000));
    await eventually(async () => (await readFile(record.logFile, 'utf8')).includes('listening'), 5000, 'listening');
    expect(await httpProbe(probe, { timeoutMs: 1000 })).toEqual({ ok: false, detail: `GET http://127.0.0.1:${port}/health → 503` });
    expect(await httpProbe({ ...probe, status: 503 }, { timeoutMs: 1000 })).toMatchObject({ ok: true });
  });

  it('http and tcp: give up after the attempt timeout', async () => {
    // Listens but never answers: connections queue in the backlog, requests hang.
    const port = await freePort();
    const record = await start('mute', ['node', '-e', `require('net').createServer(() => {}).listen(${port}, '127.0.0.1', () => console.log('up'))`]);
    await eventually(async () => (await readFile(record.logFile, 'utf8')).includes('up'), 5000, 'listening');
    const started = Date.now();
    expect(await httpProbe({ kind: 'http', url: `http://127.0.0.1:${port}/`, status: 200 }, { timeoutMs: 100 })).toEqual({
      ok: false,
      detail: `GET http://127.0.0.1:${port}/ → timeout after 100ms; [::1] → ECONNREFUSED`,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await tcpProbe({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 100 })).toEqual({
      ok: true,
      detail: `tcp 127.0.0.1:${port} → connected`,
    });
  });

  it('tcp: refused, then connected', async () => {
    const port = await freePort();
    const probe = { kind: 'tcp', host: '127.0.0.1', port } as const;
    expect(await tcpProbe(probe, { timeoutMs: 1000 })).toEqual({ ok: false, detail: `tcp 127.0.0.1:${port} → ECONNREFUSED; ::1 → ECONNREFUSED` });
    const record = await start('web', serverCommand(port, 0));
    await reportedReadyAt(record);
    expect(await tcpProbe(probe, { timeoutMs: 1000 })).toMatchObject({ ok: true });
  });

  it('exec: exit 0 passes; otherwise the exit code and the last output line', async () => {
    expect(await execProbe({ kind: 'exec', command: ['sh', '-c', 'exit 0'] }, { timeoutMs: 2000 })).toEqual({
      ok: true,
      detail: "exec sh -c 'exit 0' → exit 0",
    });
    expect(await execProbe({ kind: 'exec', command: ['sh', '-c', 'echo checking; echo "no response" >&2; exit 2'] }, { timeoutMs: 2000 })).toEqual({
      ok: false,
      detail: `exec sh -c 'echo checking; echo "no response" >&2; exit 2' → exit 2: no response`,
    });
    expect((await execProbe({ kind: 'exec', command: ['no-such-probe-xyz'] }, { timeoutMs: 2000 })).detail).toBe(
      'exec no-such-probe-xyz → ENOENT',
    );
    const cwdEnv = await execProbe({ kind: 'exec', command: ['sh', '-c', 'test "$(pwd)" = /tmp && test "$MODE" = ready'] }, {
      timeoutMs: 2000,
      cwd: '/tmp',
      env: { MODE: 'ready' },
    });
    expect(cwdEnv.ok).toBe(true);
  });

  it('exec: a hung command is killed with everything it started', async () => {
    const marker = join(dir.path, 'grandchild.pid');
    const started = Date.now();
    const result = await execProbe({ kind: 'exec', command: ['sh', '-c', `sleep 30 & echo $! > ${marker}; wait`] }, { timeoutMs: 150 });
    expect(result).toEqual({ ok: false, detail: expect.stringMatching(/→ timeout after 150ms$/) });
    expect(Date.now() - started).toBeLessThan(2000);
    const grandchild = readStat(Number(await readFile(marker, 'utf8')));
    expect(grandchild === null || grandchild.state === 'Z').toBe(true);
  });

  it('log: regex or substring, only output since the offset, reading only new bytes', async () => {
    const file = join(dir.path, 'logs', 'svc.log');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, 'Server listening on 1234 (previous run)\n');
    const cursor = new LogCursor(file, Buffer.byteLength('Server listening on 1234 (previous run)\n'));
    const probe = { kind: 'log', pattern: 'listening on \\d+$' } as const;

    expect(await logProbe(probe, cursor)).toEqual({ ok: false, detail: `log "listening on \\\\d+$" → not seen yet (log at byte 40)` });
    await appendFile(file, 'booting\nServer listen');
    expect((await logProbe(probe, cursor)).ok).toBe(false);
    expect(cursor.position).toBe(40 + 'booting\nServer listen'.length);
    await appendFile(file, 'ing on 8080\n');
    expect(await logProbe(probe, cursor)).toEqual({ ok: true, detail: `log "listening on \\\\d+$" → matched "Server listening on 8080"` });

    expect(compilePattern('(ready')('service (ready now')).toBe(true);
    expect(compilePattern('^ready$')('not ready')).toBe(false);
    expect(await logProbe(probe, new LogCursor(join(dir.path, 'missing.log')))).toMatchObject({ ok: false, detail: expect.stringContaining('no log file') });
  });

  it('process: alive only while the recorded process runs', async () => {
    const record = await start('sleeper', ['sleep', '30']);
    expect(processProbe(record)).toEqual({ ok: true, detail: `process ${record.pid} → running` });
    expect(processProbe({ pid: record.pid, startTime: record.startTime + 1 }).ok).toBe(false);
    process.kill(record.pid, 'SIGKILL');
    await manager.waitForExit(record);
    expect(processProbe(record)).toEqual({ ok: false, detail: `process ${record.pid} → not running` });
    expect(processProbe({})).toEqual({ ok: false, detail: 'process → no pid' });
  });
});

describe('waitUntilReady', () => {
  // How soon after its ready moment it is seen is a speed figure (npm run bench: hand-off latency);
  // here: it is polled from the start, many times before it answers, and seen only once ready.
  it('polls an http service from the start and sees it once it is ready', async () => {
    const port = await freePort();
    const record = await start('web', serverCommand(port, 200));
    const result = await waitUntilReady(readiness({ kind: 'http', url: `http://127.0.0.1:${port}/health`, status: 200 }), ctxFor(record));
    const seenAt = Date.now();
    const lag = seenAt - (await reportedReadyAt(record));
    expect(result.detail).toBe(`GET http://127.0.0.1:${port}/health → 200`);
    expect(result.attempts).toBeGreaterThan(5);
    expect(lag).toBeGreaterThanOrEqual(0);
  });

  it('sees a tcp service that starts listening late', async () => {
    const port = await freePort();
    const record = await start('late', serverCommand(port, 200, 'late'));
    await waitUntilReady(readiness({ kind: 'tcp', host: '127.0.0.1', port }), ctxFor(record));
    // Seen only once it listens; how soon after is a speed figure for the bench (hand-off latency).
    expect(Date.now() - (await reportedReadyAt(record))).toBeGreaterThanOrEqual(0);
  });

  it('waits for a log line of this run', async () => {
    const spec = ['sh', '-c', 'echo booting; sleep 0.2; echo "Uvicorn running on http://0.0.0.0:8000"; sleep 30'];
    const first = await start('api', spec);
    await eventually(async () => (await readFile(first.logFile, 'utf8')).includes('Uvicorn'), 5000, 'first run ready');
    await manager.stop(first, { signal: 'SIGKILL', timeoutMs: 1000 });

    const second = await start('api', spec);
    const attempts: AttemptReport[] = [];
    const result = await waitUntilReady(readiness({ kind: 'log', pattern: 'Uvicorn running' }), {
      ...ctxFor(second),
      onAttempt: (report) => attempts.push(report),
    });
    expect(result.detail).toBe('log "Uvicorn running" → matched "Uvicorn running on http://0.0.0.0:8000"');
    // Not satisfied by the first run's line: it waited for the second run's own output.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(150);
    expect(attempts.at(-1)).toMatchObject({ ok: true, attempt: result.attempts });
  });

  it('waits for the start period before the first probe', async () => {
    const attempts: AttemptReport[] = [];
    await waitUntilReady(readiness({ kind: 'exec', command: ['true'] }, { startPeriodMs: 100 }), {
      logFile: '/dev/null',
      onAttempt: (r) => attempts.push(r),
    });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.elapsedMs).toBeGreaterThanOrEqual(100);
  });

  it('times out with the last probe detail', async () => {
    const port = await freePort();
    const record = await start('never', serverCommand(port, 60_000));
    // The server answers 503 from the start; on a loaded machine it may take a while to listen.
    const url = `http://127.0.0.1:${port}/`;
    await eventually(() => fetch(url).then((r) => r.status === 503, () => false), 10_000, 'the server answering 503');
    const started = Date.now();
    const waiting = waitUntilReady(readiness({ kind: 'http', url, status: 200 }, { readyTimeoutMs: 400 }), ctxFor(record));
    await expect(waiting).rejects.toBeInstanceOf(ReadinessTimeoutError);
    const error = (await waiting.catch((e: unknown) => e)) as ReadinessTimeoutError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(error.lastDetail).toBe(`GET http://127.0.0.1:${port}/ → 503`);
    expect(error.attempts).toBeGreaterThan(10);
    expect(error.message).toBe(`not ready after 400ms (${error.attempts} probes); last probe: GET http://127.0.0.1:${port}/ → 503`);
  });

  it('stops promptly when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = waitUntilReady(readiness({ kind: 'process' }, { intervalMs: 5000, startPeriodMs: 60_000 }), {
      logFile: '/dev/null',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('watchLiveness', () => {
  function liveness(probe: Probe, overrides: Partial<LivenessSettings> = {}): LivenessSettings {
    return { probe, intervalMs: 20, timeoutMs: 1000, startPeriodMs: 0, failureThreshold: 3, ...overrides };
  }

  it('fires only after failureThreshold consecutive failures', async () => {
    // Attempt n fails for n in 2,3,5,6,7: the two failures at 2-3 are forgiven, 5-7 reach the threshold.
    const counter = join(dir.path, 'count');
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; case $n in 2|3|5|6|7) echo "fail $n"; exit 1;; esac`;
    const seen: Array<[boolean, number]> = [];
    const result = await watchLiveness(liveness({ kind: 'exec', command: ['sh', '-c', script] }), {
      logFile: '/dev/null',
      signal: new AbortController().signal,
      onAttempt: (r, failures) => seen.push([r.ok, failures]),
    });
    expect(seen).toEqual([
      [true, 0],
      [false, 1],
      [false, 2],
      [true, 0],
      [false, 1],
      [false, 2],
      [false, 3],
    ]);
    expect(result.detail).toMatch(/→ exit 1: fail 7$/);
  });

  it('notices a service that stops answering', async () => {
    const port = await freePort();
    const record = await start('web', serverCommand(port, 0));
    await reportedReadyAt(record);
    const watching = watchLiveness(liveness({ kind: 'http', url: `http://127.0.0.1:${port}/`, status: 200 }), {
      ...ctxFor(record),
      signal: new AbortController().signal,
    });
    await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 2000 });
    expect(await watching).toEqual({ detail: `GET http://127.0.0.1:${port}/ → ECONNREFUSED; [::1] → ECONNREFUSED` });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const watching = watchLiveness(liveness({ kind: 'exec', command: ['true'] }), { logFile: '/dev/null', signal: controller.signal });
    setTimeout(() => controller.abort(), 60);
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' });
  });
});
