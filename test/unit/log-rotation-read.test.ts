// Reading rotated logs: `logs -n` and `--since` over `<svc>.log.N … .1 <svc>.log`, and `-f` across a rotation.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { closeSync, openSync } from 'node:fs';
import { logFile, logPositions, mergeByTime, parseSince, printLogs, readLog, rotatedFiles } from '../../src/cli/log-tail.js';
import { appendTimeMark } from '../../src/process/log-times.js';
import { rotateIfLarger } from '../../src/process/log-rotation.js';

const dirs: string[] = [];
async function stackDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-logs-'));
  dirs.push(dir);
  await mkdir(join(dir, 'logs'));
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const NOW = Date.now();

/** svc.log.3 (3h ago) … svc.log.1 (1h ago), svc.log (now); each with two lines. */
async function rotatedLog(dir: string): Promise<string> {
  const file = logFile(dir, 'svc');
  for (const n of [3, 2, 1]) {
    await writeFile(`${file}.${n}`, `file ${n} line a\nfile ${n} line b\n`);
    const at = new Date(NOW - n * HOUR);
    await utimes(`${file}.${n}`, at, at);
  }
  await writeFile(file, 'current line a\ncurrent line b\n');
  return file;
}

describe('rotated log files', () => {
  it('are listed oldest first, numbered ones only', async () => {
    const dir = await stackDir();
    const file = await rotatedLog(dir);
    await writeFile(`${file}.bak`, '');
    await writeFile(`${file}.10`, '');
    expect(await rotatedFiles(file)).toEqual([10, 3, 2, 1].map((n) => `${file}.${n}`));
  });

  it('are read oldest first, whole, without -n', async () => {
    const file = await rotatedLog(await stackDir());
    const { lines, end } = await readLog(file, { lines: null });
    expect(lines).toEqual([
      'file 3 line a',
      'file 3 line b',
      'file 2 line a',
      'file 2 line b',
      'file 1 line a',
      'file 1 line b',
      'current line a',
      'current line b',
    ]);
    expect(end).toBe('current line a\ncurrent line b\n'.length);
  });

  it('give -n its last lines across the files', async () => {
    const file = await rotatedLog(await stackDir());
    expect((await readLog(file, { lines: 3 })).lines).toEqual(['file 1 line b', 'current line a', 'current line b']);
    expect((await readLog(file, { lines: 0 })).lines).toEqual([]);
    expect((await readLog(file, { lines: 100 })).lines).toHaveLength(8);
  });

  it('rejoin a line that a rotation cut in two', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'svc');
    await writeFile(`${file}.1`, 'whole\nhalf of a ');
    await writeFile(file, 'line\nnext\n');
    expect((await readLog(file, { lines: null })).lines).toEqual(['whole', 'half of a line', 'next']);
  });

  it('--since keeps the files last written at or after the time (whole files: lines carry no timestamps)', async () => {
    const file = await rotatedLog(await stackDir());
    const lines = (await readLog(file, { lines: null, since: NOW - 2.5 * HOUR })).lines;
    expect(lines).toEqual(['file 2 line a', 'file 2 line b', 'file 1 line a', 'file 1 line b', 'current line a', 'current line b']);
    expect((await readLog(file, { lines: 1, since: NOW - 1.5 * HOUR })).lines).toEqual(['current line b']);
    const old = new Date(NOW - 5 * HOUR);
    await utimes(file, old, old);
    expect((await readLog(file, { lines: null, since: NOW - 0.5 * HOUR })).lines).toEqual([]);
  });

  it('printLogs prefixes each service, -n per service', async () => {
    const dir = await stackDir();
    await rotatedLog(dir);
    await writeFile(logFile(dir, 'other'), 'x\ny\n');
    const out: string[] = [];
    await printLogs(dir, ['svc', 'other'], { lines: 2, follow: false }, (l) => out.push(l));
    expect(out).toEqual(['svc   | current line a', 'svc   | current line b', 'other | x', 'other | y']);
  });

  it('-f carries on across a copy-truncate rotation without losing or repeating lines', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'svc');
    await writeFile(file, 'one\n');
    const out: string[] = [];
    const stop = new AbortController();
    const following = printLogs(dir, ['svc'], { lines: null, follow: true, signal: stop.signal }, (l) => out.push(l.replace(/^svc \| /, '')));
    await sleep(150);
    // Written and rotated away between two polls, then the file grows past where the reader was.
    await appendFile(file, 'two\nthree\n');
    expect((await rotateIfLarger(file, 1, 3)).rotated).toBe(true);
    await appendFile(file, 'four is a longer line than the others\n');
    await sleep(300);
    await appendFile(file, 'five\n');
    await sleep(300);
    stop.abort();
    await following;
    expect(out).toEqual(['one', 'two', 'three', 'four is a longer line than the others', 'five']);
  });
});

/** Follows `services` of `dir` with printLogs; `seen(match)` resolves once a printed line contains `match` (or satisfies it). */
function follow(dir: string, services: string[]) {
  const out: string[] = [];
  const waiting: { match: (line: string) => boolean; resolve: () => void }[] = [];
  const stop = new AbortController();
  const done = printLogs(dir, services, { lines: null, follow: true, signal: stop.signal }, (line) => {
    out.push(line);
    for (const w of waiting.filter((w) => w.match(line))) w.resolve();
  });
  const seen = (match: string | ((line: string) => boolean)) => {
    const test = typeof match === 'string' ? (line: string) => line.includes(match) : match;
    return out.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ match: test, resolve }));
  };
  const end = async () => {
    stop.abort();
    await done;
    return out;
  };
  return { seen, end };
}

describe('several services in the order written', () => {
  it('merges stably: one service keeps its order, equal times go in the services order', () => {
    const a = { lines: ['a1', 'a2', 'a3'], times: [1, 3, 2] };
    const b = { lines: ['b1', 'b2'], times: [1, 2] };
    expect(mergeByTime([a, b]).map((m) => m.line)).toEqual(['a1', 'b1', 'b2', 'a2', 'a3']);
  });

  it('logs merges the services by the times in their index; lines past the last mark come last', async () => {
    const dir = await stackDir();
    await writeFile(logFile(dir, 'a'), 'a1\na2\na3\n');
    await writeFile(logFile(dir, 'b'), 'b1\nb2\n');
    for (const [offset, at] of [[3, 1000], [6, 1020]]) await appendTimeMark(logFile(dir, 'a'), offset, at);
    for (const [offset, at] of [[3, 1010], [6, 1030]]) await appendTimeMark(logFile(dir, 'b'), offset, at);
    const out: string[] = [];
    await printLogs(dir, ['a', 'b'], { lines: null, follow: false }, (l) => out.push(l));
    expect(out).toEqual(['a | a1', 'b | b1', 'a | a2', 'b | b2', 'a | a3']);
  });

  it('-f does not take a copy still being made for a rotation', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'svc');
    await writeFile(file, 'one\ntwo\n');
    const f = follow(dir, ['svc']);
    await f.seen('two');
    // The rotation has copied part of the file and not truncated it yet: the file goes on.
    await writeFile(`${file}.1`, 'one\n');
    await appendFile(file, 'three\n');
    await f.seen('three');
    // The copy completed, the file truncated and written again.
    await writeFile(`${file}.1`, 'one\ntwo\nthree\nfour\n');
    await writeFile(file, 'five\n');
    await f.seen('five');
    expect(await f.end()).toEqual(['svc | one', 'svc | two', 'svc | three', 'svc | four', 'svc | five']);
  });

  // One rotation at a time, as the worker's 10 s checks of a 10 MB file make them: the next once
  // the reader has shown a line written after the previous one.
  it('-f of a service writing all along, rotated again and again: no line twice, none out of order', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'svc');
    await writeFile(file, '');
    const f = follow(dir, ['svc']);
    const fd = openSync(file, 'a') as 9;
    const count = 3000;
    const writer = execa(
      process.execPath,
      ['-e', `let i = 0; const next = () => { if (++i > ${count}) return; console.log('line ' + i); setImmediate(next); }; next();`],
      { stdout: fd },
    );
    let rotations = 0;
    let running = true;
    void writer.finally(() => (running = false));
    // `line 12` as written to the file, `svc | line 12` as printed.
    const numberOf = (line: string) => Number(/(?:^|\| )line (\d+)$/.exec(line)?.[1]);
    while (running) {
      if (!(await rotateIfLarger(file, 4096, 3)).rotated) continue;
      rotations++;
      const copied = (await readFile(`${file}.1`, 'utf8')).trim().split('\n');
      const last = numberOf(copied.at(-1)!);
      if (last < count) await f.seen((line) => numberOf(line) > last);
    }
    await writer;
    closeSync(fd);
    await f.seen(`line ${count}`);
    const numbers = (await f.end()).map(numberOf);
    expect(rotations).toBeGreaterThan(1);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
  });
});

describe('parseSince', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('takes a duration back from now', () => {
    expect(parseSince('90s', now)).toBe(now - 90_000);
    expect(parseSince('1h30m', now)).toBe(now - 5_400_000);
    expect(parseSince('2d', now)).toBe(now - 2 * 86_400_000);
  });
  it('takes an ISO date/time, or one with a space', () => {
    expect(parseSince('2025-06-01T11:00:00Z', now)).toBe(now - HOUR);
    expect(parseSince('2025-06-01 11:00:00Z', now)).toBe(now - HOUR);
    expect(parseSince('2025-05-31', now)).toBe(Date.parse('2025-05-31'));
  });
  it('rejects anything else, bare numbers included', () => {
    for (const bad of ['', 'yesterday', '10', '5 minutes', '2025-13-45']) expect(parseSince(bad, now)).toBeUndefined();
  });
});

describe('a last line without its newline (logs -f, foreground up)', () => {
  /** A real process writes `text` to the service log, no newline, and exits. */
  async function printPartial(file: string, text: string): Promise<void> {
    // execa types list descriptors up to 9 only; any open descriptor reaches spawn unchanged.
    const fd = openSync(file, 'a') as 9;
    try {
      await execa(process.execPath, ['-e', `process.stdout.write(${JSON.stringify(text)})`], { stdout: fd, stderr: fd });
    } finally {
      closeSync(fd);
    }
  }

  it('is shown, prefixed, once its service has been quiet for a moment', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'api');
    await writeFile(file, 'booting\n');
    const out: string[] = [];
    const stop = new AbortController();
    let shown!: () => void;
    const fatalShown = new Promise<void>((resolve) => (shown = resolve));
    const following = printLogs(dir, ['api'], { lines: null, follow: true, signal: stop.signal }, (line) => {
      out.push(line);
      if (line.includes('fatal')) shown();
    });
    await printPartial(file, 'fatal: missing DATABASE_URL');
    // Shown while still following: no Ctrl-C needed.
    await fatalShown;
    expect(stop.signal.aborted).toBe(false);
    stop.abort();
    await following;
    expect(out).toEqual(['api | booting', 'api | fatal: missing DATABASE_URL']);
  });

  it('is shown on Ctrl-C without waiting, from the position `up` started following at', async () => {
    const dir = await stackDir();
    const file = logFile(dir, 'api');
    await writeFile(file, 'an earlier run\n');
    const from = await logPositions(dir, ['api']);
    await printPartial(file, 'fatal: missing DATABASE_URL');
    const out: string[] = [];
    const stop = new AbortController();
    stop.abort();
    await printLogs(dir, ['api'], { lines: null, follow: true, signal: stop.signal, from }, (l) => out.push(l));
    expect(out).toEqual(['api | fatal: missing DATABASE_URL']);
  });
});
