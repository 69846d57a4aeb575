// Processes of a stack that outlived what tracks them (worker killed, `rm -rf .stackflow`, a forced
// stop): found in /proc, and proven ours before anything is signalled.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readStat } from '../process/proc.js';
import { readRecord, isRunning } from '../process/record.js';
import { terminateProcess } from '../process/terminate.js';

/** A live process of this home and stack. */
export interface Leftover {
  pid: number;
  /** Its process group: a service leads its own (SPEC §7), so the group is what gets signalled. */
  pgid: number;
  startTime: number;
  /** The command line, NULs as spaces, cut to 80 characters. */
  command: string;
  /** STACKFLOW_SERVICE of a service process; null for the background worker. */
  service: string | null;
}

const STDOUT_TARGET = (pid: string) => `/proc/${pid}/fd/1`;
const DELETED = ' (deleted)';

/**
 * The processes that carry this stack's marker and write to this home: a service has
 * STACKFLOW_STACK=<stack> in its environment (config/service-env.ts) and its stdout on a log file
 * under `<home>/<stack>/`; the background worker has its stdout on `<home>/worker.log`. Both tests
 * hold even after the files were deleted (/proc shows the old path with " (deleted)"), and neither
 * can match another home's stack of the same name. Processes of other users are unreadable: skipped.
 */
export async function leftoverProcesses(home: string, stack: string): Promise<Leftover[]> {
  const stackDir = join(home, stack) + '/';
  const workerLog = join(home, 'worker.log');
  const found: Leftover[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stdout = (await readlink(STDOUT_TARGET(entry))).replace(DELETED, '');
      const isService = stdout.startsWith(stackDir);
      if (!isService && stdout !== workerLog) continue;
      const environ = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      if (isService && !environ.includes(`STACKFLOW_STACK=${stack}`)) continue;
      const stat = readStat(Number(entry));
      if (!stat || stat.state === 'Z') continue;
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ').trim().slice(0, 80);
      const service = environ.find((v) => v.startsWith('STACKFLOW_SERVICE='))?.slice('STACKFLOW_SERVICE='.length) ?? null;
      found.push({ pid: stat.pid, pgid: stat.pgid, startTime: stat.startTime, command, service: isService ? service : null });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** `data (pid 25276, node examples/services/data.mjs)` lines, for messages. */
export function describeLeftovers(list: Leftover[]): string {
  return list.map((p) => `  ${p.service ?? 'worker'} (pid ${p.pid}: ${p.command})`).join('\n');
}

/**
 * Stops `list`: SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once). A service's whole
 * process group goes when it leads one; the identity (pid + start time) is checked again just
 * before, so a pid reused meanwhile is never signalled.
 */
export async function stopLeftovers(list: Leftover[], graceMs: number): Promise<void> {
  await Promise.all(
    list
      .filter((p) => isRunning(p))
      .map((p) => terminateProcess(p.pid, { group: p.pgid === p.pid, graceMs })),
  );
}

/**
 * The service processes the stack's run records name (`<home>/<stack>/run/<service>.json`) that
 * still run, as leftovers: what a forced stop kills when the workflow cannot be trusted to.
 */
export async function recordedProcesses(home: string, stack: string): Promise<Leftover[]> {
  const runDir = join(home, stack, 'run');
  const services = (await readdir(runDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
  const records = await Promise.all(services.map((s) => readRecord(join(home, stack), s).catch(() => undefined)));
  return records
    .filter((r) => r !== undefined && isRunning(r))
    .map((r) => ({ pid: r!.pid, pgid: r!.pgid, startTime: r!.startTime, command: r!.command.join(' ').slice(0, 80), service: r!.service }));
}
