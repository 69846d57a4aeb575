// One cgroup v2 per service, as systemd gives each unit: every descendant of the service lands in
// it whatever it does (setsid, double fork, nohup, `env -i`), and `cgroup.kill` ends them all at
// once. See the kernel's Documentation/admin-guide/cgroup-v2.rst ("cgroup.procs", "cgroup.kill",
// "Delegation"). Service cgroups go under the worker's own cgroup (the part of the tree that
// whoever started the worker handed to it), in `stackflow/<stack key>/<service>`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** `STACKFLOW_CGROUPS=off` makes the worker track services without cgroups (the fallback path). */
export const CGROUPS_ENV = 'STACKFLOW_CGROUPS';

let detectedBase: string | null | undefined;

/**
 * Where this process may create service cgroups: `<cgroup2 mount><own cgroup>/stackflow`, created
 * on first use; null where cgroup v2 is not mounted, not writable (no root, no delegation, a
 * read-only container mount) or turned off with `STACKFLOW_CGROUPS=off`. Decided once per process.
 */
export function cgroupBase(): string | null {
  if (process.env[CGROUPS_ENV] === 'off') return null;
  if (detectedBase !== undefined) return detectedBase;
  let base: string | null = null;
  try {
    const mount = cgroup2Mount();
    const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (mount !== null && own !== undefined) {
      const candidate = join(mount, own, 'stackflow');
      mkdirSync(candidate, { recursive: true });
      if (existsSync(join(candidate, 'cgroup.procs')) && canJoin(candidate)) base = candidate;
    }
  } catch {
    base = null;
  }
  detectedBase = base;
  return base;
}

/**
 * Creating a cgroup is not enough: moving a process into it can still fail (no write access to a
 * common ancestor outside a delegated subtree, a threaded or domain-invalid parent). One throwaway
 * shell tries exactly what each spawn will do.
 */
function canJoin(base: string): boolean {
  const trial = join(base, `trial-${process.pid}`);
  try {
    mkdirSync(trial, { recursive: true });
    return spawnSync('/bin/sh', ['-c', 'echo $$ > "$0"', join(trial, 'cgroup.procs')], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  } finally {
    try {
      rmdirSync(trial);
    } catch {
      // Not created, or the trial shell is not reaped yet (then the kernel frees it with the last exit).
    }
  }
}

/** The mount point of the cgroup v2 hierarchy (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts). */
function cgroup2Mount(): string | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // Fields: id parent major:minor root mountpoint options [optional...] - fstype source super-options
    const [before, after] = line.split(' - ');
    if (after?.startsWith('cgroup2 ')) return before!.split(' ')[4] ?? null;
  }
  return null;
}

/** A name for a stack directory that is a valid path part and differs for two homes with one stack name. */
export function stackKey(stackDir: string): string {
  return `${basename(stackDir)}-${createHash('sha256').update(stackDir).digest('hex').slice(0, 12)}`;
}

/** The cgroup directory of one service of one stack directory; null when cgroups are not used here. */
export function serviceCgroup(stackDir: string, service: string): string | null {
  const base = cgroupBase();
  return base === null ? null : join(base, stackKey(stackDir), service);
}

/**
 * argv that first moves itself into `cgroup` (`echo $$ > cgroup.procs`), then execs `argv`: the
 * same pid, already inside the cgroup before the service's first instruction, so not even a child
 * forked at once can be outside it.
 */
export function commandInCgroup(cgroup: string, argv: string[]): string[] {
  mkdirSync(cgroup, { recursive: true });
  return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(cgroup, 'cgroup.procs'), ...argv];
}

/** Pids in `cgroup` and the cgroups a service may have made below it; [] when it does not exist. */
export function cgroupPids(cgroup: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(cgroup, 'cgroup.procs'), 'utf8');
  } catch {
    return [];
  }
  const pids = text.split('\n').filter(Boolean).map(Number);
  for (const child of subdirectories(cgroup)) pids.push(...cgroupPids(join(cgroup, child)));
  return pids;
}

/** SIGKILL to everything in `cgroup` at once (`cgroup.kill`, Linux ≥ 5.14), else to each pid. */
export function killCgroup(cgroup: string): void {
  try {
    writeFileSync(join(cgroup, 'cgroup.kill'), '1');
    return;
  } catch {
    // Older kernel (no cgroup.kill) or already removed: signal what is listed.
  }
  for (const pid of cgroupPids(cgroup)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Removes an emptied service cgroup (and its stack's directory once that is empty); a busy one stays. */
export function removeCgroup(cgroup: string): void {
  for (const dir of [...subdirectories(cgroup).map((child) => join(cgroup, child)), cgroup, join(cgroup, '..')]) {
    try {
      rmdirSync(dir);
    } catch {
      // EBUSY (still populated), ENOTEMPTY (other services' cgroups), ENOENT: leave it.
    }
  }
}

function subdirectories(cgroup: string): string[] {
  try {
    return readdirSync(cgroup, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
