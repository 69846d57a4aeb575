// Which processes belong to a service, and whether a recorded pid is really ours. pid + start time
// prove a pid was not reused; they do not prove the process is one we started. What only our spawn
// produces does: the launch marker in its environment (`STACKFLOW_LAUNCH`, inherited by everything
// it starts unless scrubbed) and, where cgroups can be used, the service's cgroup (which nothing
// started inside it can leave without root).
import { randomUUID } from 'node:crypto';
import { cgroupBase, cgroupPids, serviceCgroup, stackKey } from './cgroup.js';
import { allProcesses, environOf, isZombie, readStat, type ProcStat } from './proc.js';
import type { ProcessRecord } from './record.js';
import { becomeSubreaper } from './subreaper.js';

/** The environment variable that marks every process of one launch of a service. */
export const LAUNCH_ENV = 'STACKFLOW_LAUNCH';

/**
 * `<stack dir hash>.<service>.`: the part of a launch id shared by every launch of one service of
 * one stack directory, so that earlier launches are found too (a record lost or overwritten).
 */
function servicePrefix(stackDir: string, service: string): string {
  return `${stackKey(stackDir)}.${service}.`;
}

/** A fresh launch id for one spawn: `<stack dir hash>.<service>.<uuid>`. */
export function newLaunchId(stackDir: string, service: string): string {
  return servicePrefix(stackDir, service) + randomUUID();
}

/** How a service's processes are tracked on this machine, for the report of `down` and the README. */
export type TrackingMechanism = 'cgroup' | 'subreaper' | 'environment';

/**
 * cgroup v2 where the worker can create cgroups; otherwise the worker becomes a child subreaper (so
 * orphans stay in its tree) and the launch marker is scanned for; where neither works, only the
 * marker scan and the process group remain (a process that scrubs its environment and leaves both
 * the group and our tree is then out of sight).
 */
export function trackingMechanism(): TrackingMechanism {
  if (cgroupBase() !== null) return 'cgroup';
  return becomeSubreaper() ? 'subreaper' : 'environment';
}

/**
 * `pid:startTime` of the processes this OS process spawned itself and still holds the handle of:
 * ours without looking further (a service whose command is `env -i …` carries no marker).
 */
export const spawnedHere = new Set<string>();

/** The launch id a process was started with, if any. */
function launchOf(pid: number): string | undefined {
  const entry = environOf(pid).find((e) => e.startsWith(`${LAUNCH_ENV}=`));
  return entry?.slice(LAUNCH_ENV.length + 1);
}

/**
 * True when the recorded process was started by us as this service: same pid and start time, and
 * its environment carries the recorded launch id or it sits in the service's cgroup. A record that
 * names any other process (a hand-edited or stale file) is "not ours": it is never adopted or signalled.
 */
export function isOurProcess(stackDir: string, record: ProcessRecord): boolean {
  const stat = readStat(record.pid);
  if (stat === null || stat.startTime !== record.startTime) return false;
  if (spawnedHere.has(`${record.pid}:${record.startTime}`)) return true;
  if (record.launchId !== undefined && record.launchId.startsWith(servicePrefix(stackDir, record.service))) {
    if (launchOf(record.pid) === record.launchId) return true;
  }
  const cgroup = serviceCgroup(stackDir, record.service);
  return cgroup !== null && record.cgroup === cgroup && cgroupPids(cgroup).includes(record.pid);
}

/**
 * Every live process of the service. With a cgroup: its members. Without (the fallback): every
 * process carrying a launch marker of this service (any launch: an earlier one whose record was
 * lost is ours too); the recorded leader's process group while the leader is ours; group members
 * left by a leader that has exited, when they are still in this worker's tree (the subreaper); and
 * all their descendants.
 * `launchOnly`: only what belongs to the launch of `record` (a newer launch of the service runs).
 */
export async function serviceProcesses(
  stackDir: string,
  record: ProcessRecord | undefined,
  service: string,
  options: { launchOnly?: boolean } = {},
): Promise<ProcStat[]> {
  const cgroup = options.launchOnly ? null : serviceCgroup(stackDir, service);
  if (cgroup !== null) {
    // Complete by construction: whatever the service starts is born in its cgroup and cannot leave it
    // without root, and neither its sessions nor its groups reach outside. No /proc scan needed.
    return cgroupPids(cgroup)
      .map((pid) => readStat(pid))
      .filter((p): p is ProcStat => p !== null && !isZombie(p));
  }
  const all = await allProcesses();
  const live = all.filter((p) => !isZombie(p) && p.pid !== process.pid);
  const members = new Map<number, ProcStat>();
  const add = (p: ProcStat) => members.set(p.pid, p);
  const prefix = servicePrefix(stackDir, service);
  const matches = options.launchOnly ? (launch: string) => launch === record?.launchId : (launch: string) => launch.startsWith(prefix);
  for (const p of live) {
    const launch = launchOf(p.pid);
    if (launch !== undefined && matches(launch)) add(p);
  }
  if (record !== undefined && groupIsOurs(stackDir, record)) {
    const byPid = new Map(all.map((p) => [p.pid, p]));
    const leaderGone = readStat(record.pgid) === null;
    for (const p of live) {
      if (p.pgid !== record.pgid || p.startTime < record.startTime) continue;
      // While our leader lives (or is an unreaped zombie) its group is its own; once it is gone, only
      // what stayed in this worker's tree (the subreaper fallback) is provably ours.
      if (!leaderGone || descendsFrom(p, process.pid, byPid)) add(p);
    }
  }
  // Descendants of members are members, whatever their environment or group.
  const children = new Map<number, ProcStat[]>();
  for (const p of live) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const queue = [...members.values()];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    for (const child of children.get(p.pid) ?? []) {
      if (!members.has(child.pid)) {
        add(child);
        queue.push(child);
      }
    }
  }
  return [...members.values()];
}

/**
 * Our spawns lead their own process group (pgid = pid). The group number is ours while its leader is
 * our process (alive or an unreaped zombie) or gone: the kernel does not reuse a pid that is still
 * some process's group id, so a group `record.pgid` that exists without its leader is still ours. A
 * different process holding the pid means the number was reused: that group is someone else's.
 */
function groupIsOurs(stackDir: string, record: ProcessRecord): boolean {
  if (record.pgid !== record.pid) return false;
  const holder = readStat(record.pid);
  if (holder === null) return true;
  if (holder.startTime !== record.startTime) return false;
  return isZombie(holder) || (holder.pgid === record.pgid && isOurProcess(stackDir, record));
}

function descendsFrom(p: ProcStat, ancestor: number, byPid: Map<number, ProcStat>): boolean {
  const seen = new Set<number>();
  for (let current: ProcStat | undefined = p; current !== undefined && !seen.has(current.pid); current = byPid.get(current.ppid)) {
    if (current.ppid === ancestor) return true;
    seen.add(current.pid);
  }
  return false;
}
