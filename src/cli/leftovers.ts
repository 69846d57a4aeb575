// Processes of a stack that outlived what tracks them (worker killed, `rm -rf .stackflow`, a forced
// stop): found in /proc, and proven ours before anything is signalled.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { allProcesses, environOf, isZombie } from '../process/proc.js';
import { stackKey } from '../process/cgroup.js';
import { isOurProcess, LAUNCH_ENV } from '../process/tracking.js';
import { readRecord, isRunning } from '../process/record.js';
import { livePid, workerPidFile } from '../process/pidfile.js';
import { terminateProcess } from '../process/terminate.js';
import type { StackReads } from '../stack-reads.js';

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

/**
 * The processes of this home's stack that are alive: a service process carries the launch marker
 * of this stack directory in its environment (`STACKFLOW_LAUNCH=<stackKey>.<service>.<uuid>`,
 * process/tracking.ts), which only our spawn produces and which outlives `rm -rf .stackflow`; the
 * background worker has its stdout on `<home>/worker.log` (/proc shows the old path with
 * " (deleted)" once the file is gone). Another home's stack of the same name never matches.
 * Processes of other users are unreadable: skipped.
 */
export async function leftoverProcesses(home: string, stack: string): Promise<Leftover[]> {
  const marker = `${LAUNCH_ENV}=${stackKey(join(home, stack))}.`;
  const workerLog = join(home, 'worker.log');
  const found: Leftover[] = [];
  for (const stat of await allProcesses()) {
    if (stat.pid === process.pid || isZombie(stat)) continue;
    const environ = environOf(stat.pid);
    const launch = environ.find((v) => v.startsWith(marker));
    const isWorker = !launch && (await readlink(`/proc/${stat.pid}/fd/1`).catch(() => '')).replace(' (deleted)', '') === workerLog;
    if (!launch && !isWorker) continue;
    const command = (await readFile(`/proc/${stat.pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim().slice(0, 80);
    const service = launch ? launch.slice(marker.length).split('.')[0]! : null;
    found.push({ pid: stat.pid, pgid: stat.pgid, startTime: stat.startTime, command, service });
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
 * still run and are proven ours (process/tracking.ts isOurProcess), as leftovers: what a forced stop kills when the workflow cannot be trusted to.
 */
export async function recordedProcesses(home: string, stack: string): Promise<Leftover[]> {
  const services = await recordedServices(home, stack);
  const records = await Promise.all(services.map((s) => readRecord(join(home, stack), s).catch(() => undefined)));
  return records
    .filter((r) => r !== undefined && isRunning(r) && isOurProcess(join(home, stack), r))
    .map((r) => ({ pid: r!.pid, pgid: r!.pgid, startTime: r!.startTime, command: r!.command.join(' ').slice(0, 80), service: r!.service }));
}

/** The services of `stack` that have a run record (`<home>/<stack>/run/<service>.json`): each ever launched under this home. */
export async function recordedServices(home: string, stack: string): Promise<string[]> {
  const runDir = join(home, stack, 'run');
  return (await readdir(runDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
}

/** How long `otherStacks` waits for each running stack's `stackSpec` query. */
const HOME_QUERY_DEADLINE_MS = 5_000;

/**
 * The stacks other than `stack` that run on this home's task queue and were started from this same
 * `home` (their `stackSpec` query's `home`, both resolved to absolute paths): the home's background
 * worker serves them, so it is no leftover of `stack`. A stack of another STACKFLOW_HOME sharing the
 * task queue has its own home's worker and does not count. Null when Temporal cannot tell (the
 * worker is then kept rather than stopped under a stack it may serve). One visibility query (which
 * may lag a second) and one query per other running stack.
 */
export async function otherStacks(stacks: StackReads, stack: string, home: string): Promise<string[] | null> {
  try {
    const others = (await stacks.runningStacks()).filter((name) => name !== stack);
    const homes = await Promise.all(others.map((name) => stacks.stackHome(name, HOME_QUERY_DEADLINE_MS)));
    return others.filter((_, i) => resolve(homes[i]!) === resolve(home));
  } catch {
    return null;
  }
}

/**
 * The home's background worker (`<home>/worker.pid` with its identity record, alive) among
 * `left`: the home's own worker, idle, not a leftover; null when none of `left` is it.
 */
export async function backgroundWorkerOf(home: string, left: Leftover[]): Promise<Leftover | null> {
  const pid = await livePid(workerPidFile(home));
  return left.find((p) => p.service === null && p.pid === pid) ?? null;
}
