// Linux /proc readers: process identity (pid + start time), process groups, resource usage.
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot; with the pid it identifies a process (pids are reused, this pair is not). */
  startTime: number;
  /** CPU time used, user + system, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
}

/** USER_HZ: the unit of /proc times. The kernel fixes it at 100 on every architecture Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export function parseStat(content: string): ProcStat {
  // comm (field 2) may itself contain spaces and ')': it ends at the last ')'.
  const open = content.indexOf('(');
  const close = content.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`unparsable /proc stat line: ${content.slice(0, 80)}`);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const rest = content.slice(close + 2).trim().split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid: Number(content.slice(0, open).trim()),
    comm: content.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    pgid: field(5),
    startTime: field(22),
    cpuTicks: field(14) + field(15),
    rssPages: field(24),
  };
}

/**
 * Synchronous on purpose: right after spawn the pid must be read before the event loop can reap
 * a child that exited at once. /proc reads never touch a disk.
 */
export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

export function isZombie(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

/** Every process of the machine (zombies included), as /proc shows it now. */
export async function allProcesses(): Promise<ProcStat[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const stats = await Promise.all(
    pids.map(async (pid) => {
      try {
        return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
      } catch (err) {
        if (isGone(err)) return null;
        throw err;
      }
    }),
  );
  return stats.filter((s): s is ProcStat => s !== null);
}

/** Live (non-zombie) processes whose process group is `pgid`. */
export async function groupMembers(pgid: number): Promise<ProcStat[]> {
  return (await allProcesses()).filter((s) => s.pgid === pgid && !isZombie(s));
}

/**
 * The environment a process was started with (`/proc/<pid>/environ`: what execve received), as
 * `NAME=value` strings; empty when the process is gone, a zombie, or not readable.
 */
export function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** How a person recognises a process: its argv joined by spaces (`node examples/services/data.mjs`), else its comm. */
export function describeProcess(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.length > 0) return argv.join(' ');
  } catch {
    // Gone: fall through to what stat still knows, if anything.
  }
  return readStat(pid)?.comm ?? '?';
}

export interface GroupSample {
  /** Monotonic milliseconds at which the sample was taken. */
  at: number;
  pids: number[];
  cpuTicks: number;
  rssBytes: number;
}

export async function sampleGroup(pgid: number): Promise<GroupSample> {
  const members = await groupMembers(pgid);
  return {
    at: performance.now(),
    pids: members.map((m) => m.pid),
    cpuTicks: members.reduce((sum, m) => sum + m.cpuTicks, 0),
    rssBytes: members.reduce((sum, m) => sum + m.rssPages, 0) * pageSize(),
  };
}

/** CPU use between two samples of one group, in percent of one core. */
export function cpuPercent(before: GroupSample, after: GroupSample): number {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return 0;
  // Members that exited between the samples take their ticks with them: never report negative use.
  const ticks = Math.max(0, after.cpuTicks - before.cpuTicks);
  return (ticks / CLOCK_TICKS_PER_SECOND / seconds) * 100;
}

let cachedPageSize: number | undefined;

/** Node exposes no sysconf; the kernel states the base page size of the first mapping in smaps. */
export function pageSize(): number {
  if (cachedPageSize === undefined) {
    const head = Buffer.alloc(4096);
    const fd = openSync('/proc/self/smaps', 'r');
    try {
      const text = head.subarray(0, readSync(fd, head, 0, head.length, null)).toString('latin1');
      const kb = /KernelPageSize:\s+(\d+) kB/.exec(text)?.[1];
      cachedPageSize = kb ? Number(kb) * 1024 : 4096;
    } finally {
      closeSync(fd);
    }
  }
  return cachedPageSize;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // ESRCH: the process vanished between opening and reading its stat file.
  return code === 'ENOENT' || code === 'ESRCH';
}
