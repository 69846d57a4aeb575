// Reading and following the services' log files with `name |` prefixes, rotated files included
// (`<service>.log.N`, N = 1 the newest; see src/process/log-rotation.ts).
import { open, readdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { prefixer } from './output.js';
import { readTimeMarks, timeOf } from '../process/log-times.js';

const FOLLOW_POLL_MS = 100;
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

async function readRange(file: string, from: number, to?: number): Promise<{ text: string; end: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return { text: '', end: 0 };
  }
  try {
    const size = to ?? (await handle.stat()).size;
    if (size <= from) return { text: '', end: size };
    const buffer = Buffer.alloc(size - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), end: from + bytesRead };
  } finally {
    await handle.close();
  }
}

const splitLines = (text: string) => text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);

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
 * The lines of a service's log, oldest first, over `<file>.N … <file>.1 <file>`, and the size of
 * the current file when it was read (where following carries on).
 */
export async function readLog(file: string, options: ReadLogsOptions): Promise<{ lines: string[]; end: number }> {
  const candidates = [...(await rotatedFiles(file)), file];
  const selected: string[] = [];
  for (const f of candidates) {
    const info = await stat(f).catch(() => null);
    if (!info) continue;
    if (options.since !== undefined && info.mtimeMs < options.since) continue;
    selected.push(f);
  }
  // Newest file first, until enough lines are in: with -n the old rotated files are not read at all.
  // Files are joined as one stream, so a line cut in two by a rotation reads whole.
  let text = '';
  let end = 0;
  for (let i = selected.length - 1; i >= 0; i--) {
    const read = await readRange(selected[i]!, 0);
    if (selected[i] === file) end = read.end;
    text = read.text + text;
    if (options.lines !== null && splitLines(text).length > options.lines) break;
  }
  if (!selected.includes(file)) end = await fileSize(file);
  let lines = splitLines(text);
  if (selected.includes(file) && (options.since !== undefined || options.timestamps)) {
    // The current file's lines end the text: each gets the time of the mark that covers it.
    const times = await lineTimes(file, end);
    const first = lines.length - Math.min(times.length, lines.length);
    const own = times.slice(times.length - (lines.length - first));
    const timed = lines.map((line, i) => ({ line, at: i < first ? null : own[i - first]! }));
    lines = timed
      .filter(({ at }) => options.since === undefined || at === null || at >= options.since)
      .map(({ line, at }) => (options.timestamps ? `${at === null ? ' '.repeat(24) : new Date(at).toISOString()} ${line}` : line));
  }
  return { lines: options.lines === null ? lines : lines.slice(lines.length - Math.min(options.lines, lines.length)), end };
}

/**
 * The time of each line of `file`'s first `size` bytes (epoch ms; src/process/log-times.ts says how
 * precise): the mark covering the line's end, or the file's last write for lines past the last mark.
 */
async function lineTimes(file: string, size: number): Promise<number[]> {
  const [marks, info, read] = await Promise.all([readTimeMarks(file), stat(file).catch(() => null), readRange(file, 0, size)]);
  const bytes = Buffer.from(read.text, 'utf8');
  const times: number[] = [];
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline + 1;
    times.push(timeOf(marks, end) ?? info?.mtimeMs ?? Date.now());
    start = end;
  }
  return times;
}

/** Identifies the newest rotated copy, so a rotation between two reads is noticed even when the file has grown back. */
async function rotationStamp(file: string): Promise<string> {
  const info = await stat(`${file}.1`).catch(() => null);
  return info ? `${info.ino}:${info.size}:${info.mtimeMs}` : '';
}

/**
 * Follows one log file across rotations. When `<file>.1` is new since the last read, the file was
 * rotated (copied to `<file>.1`, then truncated): the part written between our last read and the
 * copy is read from `<file>.1`, then the current file from its beginning.
 */
class LogFollower {
  private constructor(
    readonly file: string,
    private offset: number,
    private stamp: string,
  ) {}

  /** `stamp`: the rotation stamp when `offset` was measured (default: now). */
  static async at(file: string, offset: number, stamp?: string): Promise<LogFollower> {
    return new LogFollower(file, offset, stamp ?? (await rotationStamp(file)));
  }

  async read(): Promise<string> {
    const stamp = await rotationStamp(this.file);
    const size = await fileSize(this.file);
    let text = '';
    if (stamp !== this.stamp || size < this.offset) {
      if (stamp !== this.stamp && stamp !== '') text = (await readRange(`${this.file}.1`, this.offset)).text;
      this.offset = 0;
      this.stamp = stamp;
    }
    const read = await readRange(this.file, this.offset);
    this.offset = read.end;
    return text + read.text;
  }
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
      const stamp = await rotationStamp(file);
      return [service, { offset: await fileSize(file), stamp }] as const;
    }),
  );
  return new Map(entries);
}

/**
 * The last `lines` lines of each file, prefixed; then, with `follow`, new lines until `signal`
 * aborts. A last line without its newline is shown after PARTIAL_LINE_QUIET_MS without new output
 * from its service, and when `signal` aborts (after one last read), so no output is ever held back.
 */
export async function printLogs(
  stackDir: string,
  services: string[],
  options: { lines: number | null; follow: boolean; since?: number; timestamps?: boolean; signal?: AbortSignal; from?: Map<string, LogPosition> },
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Promise<void> {
  const prefix = prefixer(services);
  const followers = new Map<string, LogFollower>();
  // Per service: the last line read so far without its newline, and when text last arrived.
  const partial = new Map<string, { text: string; since: number }>();
  // -t while following: the time a line is read, within FOLLOW_POLL_MS of its write. Every file is
  // read once per poll, so the lines of several services interleave in time order to that precision.
  const stamp = () => (options.timestamps ? `${new Date().toISOString()} ` : '');
  const show = (service: string, text: string) => {
    const lines = ((partial.get(service)?.text ?? '') + text).split('\n');
    const rest = lines.pop()!;
    for (const line of lines) write(`${prefix(service)} ${stamp()}${line}`);
    if (rest === '') partial.delete(service);
    else partial.set(service, { text: rest, since: performance.now() });
  };
  const flush = (service: string) => {
    const rest = partial.get(service);
    if (rest) write(`${prefix(service)} ${stamp()}${rest.text}`);
    partial.delete(service);
  };
  for (const service of services) {
    const file = logFile(stackDir, service);
    const start = options.from?.get(service);
    let shown: string[];
    if (start !== undefined) {
      const follower = await LogFollower.at(file, start.offset, start.stamp);
      const text = await follower.read();
      followers.set(service, follower);
      if (options.follow && options.lines === null) {
        // A line still being written is held back like any other, not cut in two.
        show(service, text);
        continue;
      }
      const lines = splitLines(text);
      shown = options.lines === null ? lines : lines.slice(-options.lines);
    } else {
      const stamp = await rotationStamp(file);
      const read = await readLog(file, { lines: options.lines, since: options.since, timestamps: options.timestamps });
      shown = read.lines;
      // Stamp taken before reading: a rotation while reading shows up as new text, never as lost text.
      followers.set(service, await LogFollower.at(file, read.end, stamp));
    }
    for (const line of shown) write(`${prefix(service)} ${line}`);
  }
  while (options.follow && !options.signal?.aborted) {
    await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
    // Read once more after an abort: what the services wrote up to Ctrl-C is shown, partial lines too.
    for (const service of services) {
      const text = await followers.get(service)!.read();
      if (text) show(service, text);
      const rest = partial.get(service);
      if (rest && (options.signal?.aborted || performance.now() - rest.since >= PARTIAL_LINE_QUIET_MS)) flush(service);
    }
  }
  for (const service of [...partial.keys()]) flush(service);
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
