// Per-line time for log files the services write to directly (they must outlive the worker, so no
// pipe passes through us to stamp lines). The supervising worker keeps a small index beside each log,
// `<service>.log.times`, one `<offset> <epoch ms>` line per mark: "at that time the file held that
// many bytes". A line ending at byte e was written between the previous mark and the first mark whose
// offset is >= e; `logs -t` and `logs --since` take that mark's time.
//
// Precision: marks are taken every SAMPLE_MS (100 ms) while the file grows, and at every marker the
// worker writes (run boundary, exit): a line's time is late by at most SAMPLE_MS plus the worker's
// scheduling delay, never early. Lines written while no worker supervised the service (between a
// worker crash and the adoption) get the time of the next mark. A truncation (log rotation) shows as
// a smaller offset: only the marks after the last one apply to the current file.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { appendFile, readFile, stat } from 'node:fs/promises';

/** How often a supervising worker samples a growing log's size (ms). */
export const SAMPLE_MS = 100;

export interface TimeMark {
  /** File size in bytes at `at`. */
  offset: number;
  /** Epoch ms. */
  at: number;
}

export function timesFile(logFile: string): string {
  return `${logFile}.times`;
}

/** Appends one mark; a failure is swallowed (the log itself matters, its times are a convenience). */
export async function appendTimeMark(logFile: string, offset: number, at = Date.now()): Promise<void> {
  await appendFile(timesFile(logFile), `${offset} ${at}\n`).catch(() => undefined);
}

/** The marks of the current log file, in file order (those before its last truncation dropped). */
export async function readTimeMarks(logFile: string): Promise<TimeMark[]> {
  const text = await readFile(timesFile(logFile), 'utf8').catch(() => '');
  const marks: TimeMark[] = [];
  for (const line of text.split('\n')) {
    const [offset, at] = line.split(' ').map(Number);
    if (!Number.isFinite(offset) || !Number.isFinite(at)) continue;
    if (marks.length && offset! < marks[marks.length - 1]!.offset) marks.length = 0;
    marks.push({ offset: offset!, at: at! });
  }
  return marks;
}

/**
 * The time of the bytes ending at `end` (exclusive): the first mark at or past it. Null when no mark
 * covers it yet (written after the last sample: it is recent).
 */
export function timeOf(marks: readonly TimeMark[], end: number): number | null {
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid]!.offset >= end) hi = mid;
    else lo = mid + 1;
  }
  return lo < marks.length ? marks[lo]!.at : null;
}

/**
 * Samples `logFile`'s size every SAMPLE_MS until `signal` aborts, appending a mark whenever it grew
 * (or shrank: a rotation). Resolves at once; the sampling runs in the background.
 */
export function sampleLogTimes(logFile: string, signal: AbortSignal): void {
  let last = -1;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const size = await stat(logFile).then(
        (s) => s.size,
        () => -1,
      );
      if (size >= 0 && size !== last) {
        last = size;
        await appendTimeMark(logFile, size);
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), SAMPLE_MS);
  void tick();
  signal.addEventListener('abort', () => {
    clearInterval(timer);
    void tick();
  });
}

/**
 * Appends a supervisor line (`— exited (SIGKILL), restarting in 950ms`) to a log no process writes
 * to any more (after an exit, before a spawn), on a line of its own, and marks its time. A failure
 * to write is swallowed: the marker never holds a spawn or a stop up.
 */
export async function appendLogMarker(logFile: string, text: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(logFile, 'a+');
  } catch {
    return;
  }
  let size: number;
  try {
    size = fstatSync(fd).size;
    let lead = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      // The process's last line may lack its newline: the marker still starts a line of its own.
      if (last[0] !== 0x0a) lead = '\n';
    }
    const bytes = Buffer.from(`${lead}${text}\n`);
    writeSync(fd, bytes);
    size += bytes.length;
  } finally {
    closeSync(fd);
  }
  await appendTimeMark(logFile, size);
}
