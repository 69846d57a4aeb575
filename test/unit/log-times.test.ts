// The time index beside a service's log (src/process/log-times.ts) and the lines `up`/`down` print
// for a service's back-off and stop (src/cli/view/events.ts).
import { describe, expect, test } from '@jest/globals';
import { appendFile, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { appendLogMarker, appendTimeMark, readTimeMarks, sampleLogTimes, timeOf, timesFile } from '../../src/process/log-times.js';
import { retryLine, stoppedLine } from '../../src/cli/view/events.js';
import { ServiceStartError, startFailureCause } from '../../src/process/errors.js';
import { emptyServiceStatus } from '../../src/lifecycle/status.js';
import { nextStep } from '../../src/lifecycle/backoff.js';

describe('log time index', () => {
  test('a line takes the time of the first mark at or past its end', () => {
    const marks = [
      { offset: 10, at: 1000 },
      { offset: 25, at: 1100 },
      { offset: 40, at: 1200 },
    ];
    expect(timeOf(marks, 5)).toBe(1000);
    expect(timeOf(marks, 10)).toBe(1000);
    expect(timeOf(marks, 11)).toBe(1100);
    expect(timeOf(marks, 40)).toBe(1200);
    expect(timeOf(marks, 41)).toBeNull();
  });

  test('marks before a truncation (rotation) no longer apply', async () => {
    const log = join(await mkdtemp(join(tmpdir(), 'log-times-')), 'a.log');
    await appendTimeMark(log, 100, 1);
    await appendTimeMark(log, 200, 2);
    await appendTimeMark(log, 30, 3);
    await appendTimeMark(log, 60, 4);
    expect(await readTimeMarks(log)).toEqual([
      { offset: 30, at: 3 },
      { offset: 60, at: 4 },
    ]);
  });

  test('a marker starts a line of its own after a last line without newline, and is marked', async () => {
    const log = join(await mkdtemp(join(tmpdir(), 'log-times-')), 'a.log');
    await writeFile(log, 'one\npartial');
    await appendLogMarker(log, '— exited (SIGKILL), restarting in 950ms');
    const text = await readFile(log, 'utf8');
    expect(text).toBe('one\npartial\n— exited (SIGKILL), restarting in 950ms\n');
    const marks = await readTimeMarks(log);
    expect(marks.at(-1)!.offset).toBe(Buffer.byteLength(text));
  });
});

/** Resolves once `log`'s index holds a mark at `offset`, woken by the index's own changes. */
async function markedAt(log: string, offset: number) {
  const changes = watch(dirname(log));
  try {
    for (;;) {
      const changed = new Promise((resolve) => changes.once('change', resolve));
      const mark = (await readTimeMarks(log)).find((m) => m.offset === offset);
      if (mark) return mark;
      await changed;
    }
  } finally {
    changes.close();
  }
}

describe('the worker sampling a log', () => {
  test('marks each change, never before the write, and starts the index afresh when the log shrinks', async () => {
    const log = join(await mkdtemp(join(tmpdir(), 'log-times-')), 'a.log');
    await writeFile(log, 'one\n');
    const stop = new AbortController();
    sampleLogTimes(log, stop.signal);
    try {
      await markedAt(log, 4);
      const before = Date.now();
      await appendFile(log, 'two\n');
      expect((await markedAt(log, 8)).at).toBeGreaterThanOrEqual(before);
      // A copy-truncate rotation: what the index said of the old content is dropped from the file.
      await truncate(log, 0);
      await appendFile(log, 'three\n');
      await markedAt(log, 6);
    } finally {
      stop.abort();
    }
    const offsets = (await readFile(timesFile(log), 'utf8')).trim().split('\n').map((line) => Number(line.split(' ')[0]));
    expect(offsets).not.toContain(8);
    expect(offsets.at(-1)).toBe(6);
  });
});

describe('event lines', () => {
  const base = emptyServiceStatus('local', undefined);

  test('one retry line per back-off, naming the exit, the attempt and the delay', () => {
    const backoff = { attempt: 2, maxAttempts: 5, delayMs: 4000, duringStart: true, at: '2026-01-01T00:00:00.000Z' };
    const now = { ...base, state: 'restarting' as const, lastExit: { code: 1, signal: null, at: backoff.at }, backoff };
    expect(retryLine('viz', now, base)?.line).toBe('viz exited (code 1) during start; retry 2/5 in 4.0s');
    // The same back-off seen again prints nothing.
    expect(retryLine('viz', now, now)).toBeNull();
  });

  test('a start that never ran names its cause, not "ended"', () => {
    const cause = startFailureCause(
      new ServiceStartError({ service: 'data', command: ['node', 'data.mjs'], reason: 'port', detail: 'port 8001 is held by pid 12233 (python3 -m http.server)' }).details,
    );
    const backoff = { attempt: 2, maxAttempts: 5, delayMs: 4000, duringStart: true, at: '2026-01-01T00:00:00.000Z', cause: cause! };
    const now = { ...base, state: 'restarting' as const, backoff };
    expect(retryLine('data', now, base)?.line).toBe('data: not started: port 8001 is held by pid 12233 (python3 -m http.server); retry 2/5 in 4.0s');
    // A process that exited during its start: its exit is the cause.
    expect(startFailureCause(ServiceStartError.fromExit('data', ['node'], { code: 1, signal: null, at: backoff.at }, ['boom']).details)).toBeNull();
  });

  test('a stop line from the drain start to the exit, only for a service seen running', () => {
    const since = Date.parse('2026-01-01T00:00:00.000Z');
    const stopped = { ...base, state: 'stopped' as const, lastExit: { code: 0, signal: null, at: '2026-01-01T00:00:00.120Z' } };
    expect(stoppedLine('api_gateway', stopped, { ...base, state: 'healthy' }, since, since + 500)).toEqual({ at: since + 120, line: 'api_gateway stopped +120ms' });
    expect(stoppedLine('api_gateway', stopped, undefined, since, since + 500)).toBeNull();
  });
});

describe('what follows a run', () => {
  const restart = { policy: 'on-failure', maxRestarts: 2, backoff: { initialMs: 100, maxMs: 1000, factor: 2 } };
  test('a clean exit completes; a crash retries with its attempt number until the budget is spent', () => {
    expect(nextStep(restart, { failed: false, reason: '' }, [], 0, () => 0.5)).toEqual({ kind: 'complete' });
    expect(nextStep(restart, { failed: true, reason: 'x' }, [], 0, () => 0.5)).toMatchObject({ kind: 'retry', attempt: 1, delayMs: 100 });
    expect(nextStep(restart, { failed: true, reason: 'x' }, [0], 1, () => 0.5)).toMatchObject({ kind: 'retry', attempt: 2, delayMs: 200 });
    expect(nextStep(restart, { failed: true, reason: 'x' }, [0, 1], 2, () => 0.5)).toEqual({ kind: 'fail', error: 'gave up after 2 restarts within 10m: x' });
    expect(nextStep({ ...restart, policy: 'never' }, { failed: true, reason: 'x' }, [], 0, () => 0.5)).toEqual({ kind: 'fail', error: 'x' });
  });
});
