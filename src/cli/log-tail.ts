// Reading and following the services' log files with `name |` prefixes, rotated files included
// (`<service>.log.N`, N = 1 the newest; see src/process/log-rotation.ts). Several services' lines
// are merged in the order they were written: the printed part by the worker's time index
// (src/process/log-times.ts), the followed part by reading each file as soon as it changes.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { prefixer } from './output.js';
import { readTimeMarks, timeOf, type TimeMark } from '../process/log-times.js';
import { rotationMarker, ROTATION_MARKER_STALE_MS } from '../process/log-rotation.js';

/**
 * How often `-f` reads every file when no change event arrives: every FALLBACK_POLL_MS while the
 * log directory cannot be watched (missing yet, a file system without events, the watch limit
 * reached), every BACKSTOP_POLL_MS while it is watched (in case an event is lost).
 */
const FALLBACK_POLL_MS = 100;
const BACKSTOP_POLL_MS = 1000;
/**
 * A last line without its newline is shown once its service has written nothing for this long (a
 * service that printed `fatal: ...` and exited never sends the newline). More text after it then
 * starts a new prefixed line, as docker compose does with a flushed partial line.
 */
export const PARTIAL_LINE_QUIET_MS = 300;

export function logFile(stackDir: string, service: string): string {
  return join(stackDir, 'logs', `${service}.log`);
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** The rotated copies of `file` that exist, oldest first (`file.3`, `file.2`, `file.1`). */
export async function rotatedFiles(file: string): Promise<string[]> {
  const prefix = basename(file) + '.';
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^[1-9]\d*$/.test(n.slice(prefix.length)))
    .map((n) => ({ n, index: Number(n.slice(prefix.length)) }))
    .sort((a, b) => b.index - a.index)
    .map(({ n }) => join(dirname(file), n));
}

/** Bytes [from, to) of `file` (to: its size now), and where the read ended; nothing for a missing file. */
async function readRange(file: string, from: number, to?: number): Promise<{ bytes: Buffer; end: number; mtimeMs: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return { bytes: Buffer.alloc(0), end: 0, mtimeMs: 0 };
  }
  try {
    const info = await handle.stat();
    const size = Math.min(to ?? info.size, info.size);
    if (size <= from) return { bytes: Buffer.alloc(0), end: Math.max(size, from), mtimeMs: info.mtimeMs };
    const buffer = Buffer.alloc(size - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return { bytes: buffer.subarray(0, bytesRead), end: from + bytesRead, mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * Consecutive bytes of one service's log, from one file: a rotated copy (`marks` null: its lines
 * all take the copy's last write, `mtimeMs`, and show no `-t` time) or the current file from byte
 * `start` (each line the time of the mark covering its end; past the last mark, `mtimeMs`).
 */
interface LogChunk {
  bytes: Buffer;
  start: number;
  marks: readonly TimeMark[] | null;
  mtimeMs: number;
}

/** Lines of a log with the time each was written (epoch ms), oldest first. */
export interface TimedLines {
  lines: string[];
  /** Per line: when it was written, as precisely as the index tells (src/process/log-times.ts). */
  times: number[];
  /** Per line: whether `times` comes from the index (false: a rotated copy's last write). */
  indexed: boolean[];
}

/** Splits chunks joined as one stream into lines (a line cut by a rotation reads whole) and times them. */
function timedLines(chunks: LogChunk[]): TimedLines {
  const all = Buffer.concat(chunks.map((c) => c.bytes));
  const result: TimedLines = { lines: [], times: [], indexed: [] };
  let chunk = 0;
  let chunkStart = 0;
  let start = 0;
  while (start < all.length) {
    const newline = all.indexOf(0x0a, start);
    const end = newline === -1 ? all.length : newline + 1;
    // The chunk holding the line's last byte dates it.
    while (end > chunkStart + chunks[chunk]!.bytes.length) chunkStart += chunks[chunk++]!.bytes.length;
    const { marks, mtimeMs } = chunks[chunk]!;
    result.lines.push(all.subarray(start, newline === -1 ? end : newline).toString('utf8'));
    result.times.push(marks === null ? mtimeMs : (timeOf(marks, chunks[chunk]!.start + end - chunkStart) ?? mtimeMs));
    result.indexed.push(marks !== null);
    start = end;
  }
  return result;
}

export interface ReadLogsOptions {
  /** Only the last `lines` lines (over the rotated files and the current one); null: all. */
  lines: number | null;
  /**
   * Epoch ms: only lines written at or after this time. In the current file by line, from the
   * worker's time index (src/process/log-times.ts); rotated copies per file: one whose last write
   * (mtime) is older is skipped, one written since is shown whole.
   */
  since?: number;
  /** Prefix each line with its time (ISO 8601); lines of rotated copies get none. */
  timestamps?: boolean;
}

/**
 * The lines of a service's log, oldest first, over `<file>.N … <file>.1 <file>`, the time each was
 * written (see TimedLines; `-t` prefixes already applied to `lines`), and the size of the current
 * file when it was read (where following carries on).
 */
export async function readLog(file: string, options: ReadLogsOptions): Promise<{ lines: string[]; times: number[]; end: number }> {
  const candidates = [...(await rotatedFiles(file)), file];
  const selected: string[] = [];
  for (const f of candidates) {
    const info = await stat(f).catch(() => null);
    if (!info) continue;
    if (options.since !== undefined && info.mtimeMs < options.since) continue;
    selected.push(f);
  }
  // Newest file first, until enough lines are in: with -n the old rotated files are not read at all.
  const chunks: LogChunk[] = [];
  let newlines = 0;
  let end = selected.includes(file) ? 0 : await fileSize(file);
  for (let i = selected.length - 1; i >= 0; i--) {
    const current = selected[i] === file;
    const [read, marks] = await Promise.all([readRange(selected[i]!, 0), current ? readTimeMarks(file) : null]);
    if (current) end = read.end;
    chunks.unshift({ bytes: read.bytes, start: 0, marks, mtimeMs: read.mtimeMs || Date.now() });
    for (let at = read.bytes.indexOf(0x0a); at !== -1; at = read.bytes.indexOf(0x0a, at + 1)) newlines++;
    if (options.lines !== null && newlines > options.lines) break;
  }
  const timed = timedLines(chunks);
  const keep = timed.lines.map((_, i) => options.since === undefined || timed.times[i]! >= options.since);
  const pick = <T>(values: T[]) => {
    const kept = values.filter((_, i) => keep[i]);
    return options.lines === null ? kept : kept.slice(kept.length - Math.min(options.lines, kept.length));
  };
  const lines = timed.lines.map((line, i) =>
    options.timestamps ? `${timed.indexed[i] ? new Date(timed.times[i]!).toISOString() : ' '.repeat(24)} ${line}` : line,
  );
  return { lines: pick(lines), times: pick(timed.times), end };
}

/**
 * Several services' lines as one sequence in the order they were written: a stable merge by time
 * (each service's lines keep their order; equal times go in `logs`' order of the services).
 */
export function mergeByTime<T extends { lines: string[]; times: number[] }>(logs: T[]): { log: T; line: string }[] {
  const next = logs.map(() => 0);
  const merged: { log: T; line: string }[] = [];
  for (;;) {
    let pick = -1;
    for (let i = 0; i < logs.length; i++) {
      if (next[i]! >= logs[i]!.lines.length) continue;
      if (pick === -1 || logs[i]!.times[next[i]!]! < logs[pick]!.times[next[pick]!]!) pick = i;
    }
    if (pick === -1) return merged;
    merged.push({ log: logs[pick]!, line: logs[pick]!.lines[next[pick]!++]! });
  }
}

interface RotationStamp {
  /**
   * Identifies the newest rotated copy (inode and size; not its mtime, which the rotation sets
   * after the truncation, src/process/log-rotation.ts); '' when there is none.
   */
  id: string;
  size: number;
}

/** Identifies the newest rotated copy, so a rotation between two reads is noticed even when the file has grown back. */
async function rotationStamp(file: string): Promise<RotationStamp> {
  const info = await stat(`${file}.1`).catch(() => null);
  return info ? { id: `${info.ino}:${info.size}`, size: info.size } : { id: '', size: 0 };
}

/** Up to `count` first bytes of `file`. */
async function head(file: string, count: number): Promise<Buffer> {
  return (await readRange(file, 0, count)).bytes;
}

/**
 * Follows one log file across rotations. When the file shrank below where we read, or `<file>.1` is
 * new since the last read and the file no longer begins as that copy does, the file was rotated
 * (copied to `<file>.1`, then truncated): the part written between our last read and the copy is
 * read from `<file>.1`, then the current file from its beginning. A `<file>.1` still being copied
 * (its bytes so far are the file's first ones) is not taken for a rotation. One rotation between two
 * reads is assumed: with reads on every change and a rotation at most per 10 MB and 10 s
 * (LOG_ROTATION_DEFAULTS), two never fall between them.
 */
class LogFollower {
  private constructor(
    readonly file: string,
    private offset: number,
    private stamp: string,
  ) {}

  /** `stamp`: the rotation stamp when `offset` was measured (default: now). */
  static async at(file: string, offset: number, stamp?: string): Promise<LogFollower> {
    return new LogFollower(file, offset, stamp ?? (await rotationStamp(file)).id);
  }

  private async rotated(stamp: RotationStamp, size: number): Promise<boolean> {
    if (size < this.offset) return true;
    if (stamp.id === this.stamp) return false;
    // A copy being made never holds more than the file; a finished one holds what the file no longer begins with.
    if (size < stamp.size) return true;
    const length = Math.min(stamp.size, 256);
    return !(await head(`${this.file}.1`, length)).equals(await head(this.file, length));
  }

  /**
   * The new bytes as chunks (see LogChunk; the current file's times from `marks`). `upTo`: read the
   * current file no further than this size (the size a change event reported), unless it was rotated.
   * A read that a rotation overlapped (its marker seen before or after, or a new copy after) is
   * thrown away and made again once the rotation is over: its bytes could come from either side.
   */
  async read(upTo?: number, marks: readonly TimeMark[] = []): Promise<LogChunk[]> {
    for (;;) {
      const chunks = (await rotationUnderWay(this.file)) ? null : await this.readOnce(upTo, marks);
      if (chunks) return chunks;
      await sleep(ROTATION_RETRY_MS);
    }
  }

  private async readOnce(upTo: number | undefined, marks: readonly TimeMark[]): Promise<LogChunk[] | null> {
    // The size first, then the stamp: a truncation seen in the size is a rotation whose copy the
    // stamp then names (the copy is whole before the truncation).
    const size = await fileSize(this.file);
    const stamp = await rotationStamp(this.file);
    const chunks: LogChunk[] = [];
    let offset = this.offset;
    const rotated = await this.rotated(stamp, size);
    if (rotated) {
      if (stamp.id !== this.stamp && stamp.id !== '') {
        const rest = await readRange(`${this.file}.1`, offset);
        chunks.push({ bytes: rest.bytes, start: offset, marks: null, mtimeMs: rest.mtimeMs });
      }
      offset = 0;
      upTo = undefined;
    }
    const read = await readRange(this.file, offset, upTo);
    chunks.push({ bytes: read.bytes, start: offset, marks, mtimeMs: read.mtimeMs || Date.now() });
    if ((await rotationUnderWay(this.file)) || (await rotationStamp(this.file)).id !== stamp.id) return null;
    this.offset = read.end;
    if (rotated) this.stamp = stamp.id;
    return chunks.filter((c) => c.bytes.length);
  }
}

/** How long a follower waits before reading again when a rotation is under way (ms). */
const ROTATION_RETRY_MS = 5;

/** A rotation of `file` is under way: its marker is there and not stale (src/process/log-rotation.ts). */
async function rotationUnderWay(file: string): Promise<boolean> {
  const info = await stat(rotationMarker(file)).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs < ROTATION_MARKER_STALE_MS;
}

export interface LogPosition {
  offset: number;
  stamp: string;
}

/** Where each service's log ends now: `printLogs(..., { from })` later shows only what came after. */
export async function logPositions(stackDir: string, services: string[]): Promise<Map<string, LogPosition>> {
  const entries = await Promise.all(
    services.map(async (service) => {
      const file = logFile(stackDir, service);
      const stamp = (await rotationStamp(file)).id;
      return [service, { offset: await fileSize(file), stamp }] as const;
    }),
  );
  return new Map(entries);
}

/** The size of `file` now, or undefined when it cannot be read. */
function sizeNow(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/**
 * The last `lines` lines of each service's log, merged in the order they were written and prefixed;
 * then, with `follow`, new lines until `signal` aborts. Following watches the log directory
 * (`fs.watch`: inotify, FSEvents, ReadDirectoryChangesW) and reads a file as soon as it changes, up
 * to the size it had then, in the order the changes came: lines of several services come out in the
 * order they were written. Polls stand in where no events come (see FALLBACK_POLL_MS). A last line
 * without its newline is shown after PARTIAL_LINE_QUIET_MS without new output from its service, and
 * when `signal` aborts (after one last read), so no output is ever held back.
 */
export async function printLogs(
  stackDir: string,
  services: string[],
  options: { lines: number | null; follow: boolean; since?: number; timestamps?: boolean; signal?: AbortSignal; from?: Map<string, LogPosition> },
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Promise<void> {
  const prefix = prefixer(services);
  const followers = new Map<string, LogFollower>();
  // Per service: the last line read so far without its newline, and its quiet timer.
  const partial = new Map<string, { text: string; timer: NodeJS.Timeout }>();
  const flush = (service: string) => {
    const rest = partial.get(service);
    if (!rest) return;
    clearTimeout(rest.timer);
    partial.delete(service);
    write(`${prefix(service)} ${stamp()}${rest.text}`);
  };
  // -t while following: the time a line is read, a few ms after its write.
  const stamp = () => (options.timestamps ? `${new Date().toISOString()} ` : '');
  const holdBack = (service: string, text: string) => {
    partial.set(service, { text, timer: setTimeout(() => enqueue(service, undefined, true), PARTIAL_LINE_QUIET_MS) });
  };

  // Services whose file changed, in the order the changes came, each with the size it then had.
  const queue: { service: string; upTo?: number; quiet?: boolean }[] = [];
  let wake: (() => void) | undefined;
  const enqueue = (service: string, upTo?: number, quiet = false) => {
    const last = queue.at(-1);
    if (last?.service === service) {
      last.upTo = last.upTo === undefined || upTo === undefined ? undefined : Math.max(last.upTo, upTo);
      last.quiet ||= quiet;
    } else queue.push({ service, upTo, quiet });
    wake?.();
  };
  const initial: { service: string; lines: string[]; times: number[] }[] = [];
  for (const service of services) {
    const file = logFile(stackDir, service);
    const start = options.from?.get(service);
    if (start !== undefined) {
      const follower = await LogFollower.at(file, start.offset, start.stamp);
      followers.set(service, follower);
      const chunks = await follower.read(undefined, await readTimeMarks(file));
      const timed = timedLines(chunks);
      const last = chunks.at(-1)?.bytes;
      if (options.follow && options.lines === null && last && last.at(-1) !== 0x0a) {
        // A line still being written is held back like any other, not cut in two.
        holdBack(service, timed.lines.pop()!);
        timed.times.pop();
      }
      const from = options.lines === null ? 0 : Math.max(0, timed.lines.length - options.lines);
      initial.push({ service, lines: timed.lines.slice(from), times: timed.times.slice(from) });
    } else {
      const rotation = (await rotationStamp(file)).id;
      const read = await readLog(file, { lines: options.lines, since: options.since, timestamps: options.timestamps });
      initial.push({ service, lines: read.lines, times: read.times });
      // Stamp taken before reading: a rotation while reading shows up as new text, never as lost text.
      followers.set(service, await LogFollower.at(file, read.end, rotation));
    }
  }
  for (const { log, line } of mergeByTime(initial)) write(`${prefix(log.service)} ${line}`);
  if (!options.follow) return;

  const all = () => {
    for (const service of services) enqueue(service);
  };
  const show = (service: string, text: string) => {
    const rest = partial.get(service);
    if (rest) clearTimeout(rest.timer);
    partial.delete(service);
    const lines = ((rest?.text ?? '') + text).split('\n');
    const last = lines.pop()!;
    for (const line of lines) write(`${prefix(service)} ${stamp()}${line}`);
    if (last !== '') holdBack(service, last);
  };

  const dir = join(stackDir, 'logs');
  const byName = new Map(services.map((s) => [`${s}.log`, s]));
  let watcher: FSWatcher | undefined;
  const startWatching = () => {
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name === null) return all();
        const service = byName.get(String(name));
        if (service !== undefined) enqueue(service, sizeNow(logFile(stackDir, service)));
      });
      watcher.on('error', () => {
        // The directory went away: poll until it can be watched again.
        watcher?.close();
        watcher = undefined;
      });
      // What was written before the watch began.
      all();
    } catch {
      watcher = undefined;
    }
  };
  startWatching();
  let polled = performance.now();
  const poll = setInterval(() => {
    if (!watcher) startWatching();
    if (!watcher || performance.now() - polled >= BACKSTOP_POLL_MS) {
      polled = performance.now();
      all();
    }
  }, FALLBACK_POLL_MS);
  const onAbort = () => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    while (!options.signal?.aborted) {
      const next = queue.shift();
      if (!next) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const text = await readText(next.service, next.upTo);
      if (text) show(next.service, text);
      else if (next.quiet) flush(next.service);
    }
    // Read once more after an abort: what the services wrote up to Ctrl-C is shown, partial lines too.
    for (const service of services) {
      const text = await readText(service);
      if (text) show(service, text);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    clearInterval(poll);
    watcher?.close();
    for (const service of [...partial.keys()]) flush(service);
  }

  async function readText(service: string, upTo?: number): Promise<string> {
    const chunks = await followers.get(service)!.read(upTo);
    return Buffer.concat(chunks.map((c) => c.bytes)).toString('utf8');
  }
}

/**
 * `--since`: a duration back from `now` (`90s`, `5m`, `1h30m`) or a date/time (`2025-06-01T12:00:00Z`,
 * `2025-06-01 12:00`; without a zone, local time). Epoch ms, or undefined when it is neither.
 */
export function parseSince(text: string, now: number): number | undefined {
  const value = text.trim();
  const duration = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.exec(value);
  if (duration) {
    const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    let total = 0;
    for (const [, amount, u] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(amount) * unit[u!]!;
    return now - total;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const at = Date.parse(value.replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2'));
  return Number.isFinite(at) ? at : undefined;
}
