// Per-line time for log files the services write to directly (they must outlive the worker, so no
// pipe passes through us to stamp lines). The supervising worker keeps a small index beside each log,
// `<service>.log.times`, one `<offset> <epoch ms>` line per mark: "at that time the file held that
// many bytes". A line ending at byte e was written between the previous mark and the first mark whose
// offset is >= e; `logs -t`, `logs --since` and the time-ordered merge of several services take that
// mark's time.
//
// Precision: a mark is taken when the file changes (an inotify/FSEvents event through `fs.watch`, at
// most one per MARK_MIN_GAP_MS per file so a chatty service costs the worker at most that many marks
// a second), every SAMPLE_MS as a fallback where change events are not delivered, and at every marker
// the worker writes (run boundary, exit). A line's time is late by at most MARK_MIN_GAP_MS plus the
// worker's event-loop delay (SAMPLE_MS where no events arrive), never early. Times may carry a
// fraction of a millisecond: it only orders marks the worker took within one millisecond, in the
// order the changes were reported. Lines written while no worker supervised the service (between a
// worker crash and the adoption) get the time of the next mark. A truncation (log rotation) shows as
// a smaller offset: only the marks after the last one apply to the current file, and the sampler
// then starts the index afresh so it never outgrows the log's rotation.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, writeSync, type FSWatcher } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';

/** How often a supervising worker samples a log's size when no change event came (ms). */
export const SAMPLE_MS = 100;
/** The shortest time between two marks of one file taken on change events (ms). */
export const MARK_MIN_GAP_MS = 10;

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
 * Epoch ms, strictly increasing within this process: a fraction is added to the marks taken within
 * one millisecond, so they keep the order in which the changes were reported.
 */
let lastStamp = 0;
function stampNow(): number {
  const now = Date.now();
  lastStamp = now > lastStamp ? now : lastStamp + 0.001;
  return Math.round(lastStamp * 1000) / 1000;
}

/**
 * Marks `logFile`'s size whenever it changes until `signal` aborts: on each change event (at most
 * one mark per MARK_MIN_GAP_MS; a later one is deferred, not dropped), and every SAMPLE_MS in case
 * events are not delivered (a file system without them, the watch limit reached). A shrink (log
 * rotation) restarts the index with that mark. Returns at once; the marking runs in the background,
 * its failures swallowed (the log matters, its times are a convenience).
 */
export function sampleLogTimes(logFile: string, signal: AbortSignal): void {
  if (signal.aborted) return;
  let last = -1;
  let lastMarkAt = -Infinity;
  let deferred: NodeJS.Timeout | undefined;
  // Appends in the order the marks were taken: the index stays in file order.
  let writing: Promise<void> = Promise.resolve();
  const mark = () => {
    deferred = undefined;
    let size: number;
    try {
      // Size and time together, synchronously (a stat is microseconds): a mark is never early.
      size = statSync(logFile).size;
    } catch {
      return;
    }
    if (size === last) return;
    const shrank = size < last;
    last = size;
    const at = stampNow();
    lastMarkAt = performance.now();
    writing = writing.then(() =>
      shrank ? writeFile(timesFile(logFile), `${size} ${at}\n`).catch(() => undefined) : appendTimeMark(logFile, size, at),
    );
  };
  const onChange = () => {
    if (deferred || signal.aborted) return;
    const wait = lastMarkAt + MARK_MIN_GAP_MS - performance.now();
    if (wait <= 0) mark();
    else deferred = setTimeout(mark, wait);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(logFile, { persistent: false }, onChange);
    // The file removed (a reset of the state directory): the timer carries on alone.
    watcher.on('error', () => watcher?.close());
  } catch {
    // No events here: the timer alone.
  }
  const timer = setInterval(mark, SAMPLE_MS);
  mark();
  signal.addEventListener('abort', () => {
    clearInterval(timer);
    clearTimeout(deferred);
    watcher?.close();
    mark();
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
