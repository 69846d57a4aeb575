// Size-based copy-truncate rotation of the service log files, with a real process writing meanwhile.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_ROTATION_DEFAULTS, rotateIfLarger, rotatedName } from '../../src/process/log-rotation.js';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-rotation-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

// The service side: stdout is the log file opened with O_APPEND (as ProcessManager spawns services);
// numbered lines, one write(2) each, as fast as it can, with a 1 ms pause every `pauseEvery` lines (0: never).
const WRITER = `
const { writeSync } = require('node:fs');
const total = Number(process.argv[1]);
const pauseEvery = Number(process.argv[2]);
const pad = 'x'.repeat(80);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 1; i <= total; i++) {
  writeSync(1, 'line ' + i + ' ' + pad + '\\n');
  if (pauseEvery && i % pauseEvery === 0) Atomics.wait(pause, 0, 0, 1);
}
`;

/** The highest line number in the file now (its last complete line). */
async function lastSeq(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').slice(0, -1);
    const last = lines.at(-1)?.match(/^line (\d+) /);
    return last ? Number(last[1]) : 0;
  } finally {
    await handle.close();
  }
}

describe('rotateIfLarger', () => {
  it('defaults to 10 MB and 3 kept files', () => {
    expect(LOG_ROTATION_DEFAULTS.maxBytes).toBe(10 * 1024 * 1024);
    expect(LOG_ROTATION_DEFAULTS.keep).toBe(3);
  });

  it('does nothing below the size, for a missing file, or with maxBytes 0', async () => {
    const dir = await scratch();
    const file = join(dir, 'svc.log');
    expect((await rotateIfLarger(file, 10, 3)).rotated).toBe(false);
    await writeFile(file, 'short\n');
    expect((await rotateIfLarger(file, 100, 3)).rotated).toBe(false);
    expect((await rotateIfLarger(file, 0, 3)).rotated).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('short\n');
    expect(existsSync(rotatedName(file, 1))).toBe(false);
  });

  it('shifts .1 -> .2 ... keeping `keep` copies, the newest in .1, and empties the file', async () => {
    const dir = await scratch();
    const file = join(dir, 'svc.log');
    for (let round = 1; round <= 5; round++) {
      await writeFile(file, `round ${round}\n`, { flag: 'a' });
      expect(await rotateIfLarger(file, 5, 3)).toEqual({ rotated: true, copiedBytes: `round ${round}\n`.length });
      expect((await stat(file)).size).toBe(0);
    }
    expect(await readFile(rotatedName(file, 1), 'utf8')).toBe('round 5\n');
    expect(await readFile(rotatedName(file, 2), 'utf8')).toBe('round 4\n');
    expect(await readFile(rotatedName(file, 3), 'utf8')).toBe('round 3\n');
    expect(existsSync(rotatedName(file, 4))).toBe(false);
  });

  it('gives the copy the time of the last write it holds (what `logs --since` goes by)', async () => {
    const dir = await scratch();
    const file = join(dir, 'svc.log');
    await writeFile(file, 'old line\n');
    const written = new Date(Date.now() - 3_600_000);
    await utimes(file, written, written);
    await rotateIfLarger(file, 1, 3);
    expect(Math.abs((await stat(rotatedName(file, 1))).mtimeMs - written.getTime())).toBeLessThan(1000);
  });

  it('with keep 0 only truncates', async () => {
    const dir = await scratch();
    const file = join(dir, 'svc.log');
    await writeFile(file, 'a lot\n');
    expect(await rotateIfLarger(file, 1, 0)).toEqual({ rotated: true, copiedBytes: 0 });
    expect((await stat(file)).size).toBe(0);
    expect(existsSync(rotatedName(file, 1))).toBe(false);
  });

});

/**
 * A real process writes `total` numbered lines to `file` (O_APPEND) while it is rotated at 64 KB;
 * checks that nothing written before a rotation began is lost and returns what was lost.
 */
async function rotateUnderLoad(total: number, pauseEvery: number): Promise<{ rotations: number; lost: number; cut: number }> {
  const dir = await scratch();
  const file = join(dir, 'svc.log');
  const fd = await open(file, 'a');
  const writer = execa(process.execPath, ['-e', WRITER, String(total), String(pauseEvery)], { stdout: fd.fd as 9, reject: false });
  await fd.close();

  const boundaries: { before: number }[] = [];
  let done = false;
  void writer.finally(() => (done = true));
  while (!done) {
    const size = (await stat(file)).size;
    if (size >= 64 * 1024) {
      // Every line up to here was written before the rotation began: none of them may be lost.
      const before = await lastSeq(file);
      if ((await rotateIfLarger(file, 64 * 1024, 1000)).rotated) boundaries.push({ before });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  expect((await writer).exitCode).toBe(0);

  // Oldest first: .N … .1, then the file itself.
  const files = [...boundaries.keys()].map((i) => rotatedName(file, boundaries.length - i)).concat(file);
  const perFile: number[][] = [];
  let cut = 0;
  for (const f of files) {
    const text = await readFile(f, 'utf8');
    expect(text.includes('\0')).toBe(false); // O_APPEND: after the truncation the service writes at 0, no hole
    const lines = text.split('\n');
    const last = lines.pop()!;
    if (last !== '') {
      // A write crossing a page boundary can be read half done; ftruncate then waits for it and drops it
      // whole. Such a line counts as lost below; it can only be the last bytes of a rotated copy.
      expect(f).not.toBe(file);
      expect(last).toMatch(/^(l(i(n(e( (\d+( x*)?)?)?)?)?)?)$/);
      cut++;
    }
    perFile.push(lines.map((l) => Number(/^line (\d+) x{80}$/.exec(l)![1])));
  }
  let lost = 0;
  let previous = 0;
  perFile.forEach((seqs, i) => {
    // Inside one file: consecutive.
    seqs.forEach((seq, j) => expect(seq).toBe(j === 0 ? seq : seqs[j - 1]! + 1));
    if (!seqs.length) return;
    if (i > 0) {
      // Across a boundary: whatever is missing was written after that rotation began.
      const missing = seqs[0]! - previous - 1;
      expect(missing).toBeGreaterThanOrEqual(0);
      if (missing > 0) expect(previous).toBeGreaterThanOrEqual(boundaries[i - 1]!.before);
      lost += missing;
    }
    previous = seqs.at(-1)!;
  });
  expect(previous).toBe(total);
  return { rotations: boundaries.length, lost, cut };
}

describe('rotateIfLarger under a real writer', () => {
  // What copy-truncate inherently risks: writes between the last read and ftruncate, two system calls
  // apart (more when the scheduler preempts the rotating process right there). Measured and logged;
  // bounded loosely, since it depends on the machine's load.
  it('loses nothing written before a rotation while a process keeps writing through O_APPEND', async () => {
    const total = 40_000; // ~3.6 MB, 100-line bursts
    const { rotations, lost, cut } = await rotateUnderLoad(total, 100);
    console.log(`log rotation, bursty writer: ${rotations} rotations, ${lost} of ${total} lines lost, ${cut} cut`);
    expect(rotations).toBeGreaterThan(5);
    expect(lost).toBeLessThan(total * 0.02);
  });

  it('keeps that guarantee against a writer that never pauses', async () => {
    const total = 60_000; // ~5.5 MB as fast as one core writes it
    const { rotations, lost, cut } = await rotateUnderLoad(total, 0);
    console.log(`log rotation, unthrottled writer: ${rotations} rotations, ${lost} of ${total} lines lost, ${cut} cut`);
    // The rotating side gets fewer turns on a loaded machine; two boundaries still test the guarantee.
    expect(rotations).toBeGreaterThan(1);
  });
});
