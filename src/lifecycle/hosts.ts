// Hosts (pure, workflow-safe): where a service is reached from another host, the stack's registry
// built from the reports, and how a service looks when its host's worker has gone silent.
import type { ServiceSpec, ServiceStatus, StackSpec } from '../model.js';
import { envPrefix, LOOPBACK, serviceNameOf } from './names.js';
import type { RegistryEntry } from '../workflows/definitions.js';

/**
 * The address other hosts reach `host` at: the stack file's `hosts.<host>.address` when given, else
 * what the host's worker advertised (`reported`, from a service's spawn), else null (not known yet).
 */
export function hostAddress(stack: StackSpec, host: string, reported: string | null | undefined): string | null {
  const override = stack.hosts && Object.hasOwn(stack.hosts, host) ? stack.hosts[host].address : undefined;
  return override ?? reported ?? null;
}

/**
 * `spec` as it is launched: for each dependency on another host whose address is known,
 * `<DEP>_URL` becomes `http://<address>:<port>` and `<DEP>_HOST` the address (same-host
 * dependencies keep loopback). A variable is rewritten only while it still holds the loopback value
 * stackflow injected. `addressOf(dependency)` answers with the dependency's host address or null.
 * Replicated dependencies are named by instance 0 (`db#0`), as in the injected variables.
 */
export function withHostAddresses(spec: ServiceSpec, stack: StackSpec, addressOf: (dependency: string) => string | null): ServiceSpec {
  let env: Record<string, string> | undefined;
  for (const dependency of Object.keys(spec.dependsOn)) {
    if (dependency.includes('#') && !dependency.endsWith('#0')) continue;
    const target = Object.hasOwn(stack.services, dependency) ? stack.services[dependency]! : undefined;
    if (!target || target.host === spec.host) continue;
    const address = addressOf(dependency);
    if (!address) continue;
    const prefix = envPrefix(serviceNameOf(dependency));
    env ??= Object.assign(Object.create(null) as Record<string, string>, spec.env);
    if (target.port !== undefined && env[`${prefix}_URL`] === `http://${LOOPBACK}:${target.port}`) {
      env[`${prefix}_URL`] = `http://${urlHost(address)}:${target.port}`;
    }
    if (env[`${prefix}_HOST`] === LOOPBACK) env[`${prefix}_HOST`] = address;
  }
  return env ? { ...spec, env } : spec;
}

/** An IPv6 address goes in brackets in a URL. */
function urlHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/**
 * The stack's registry from its status: one entry per running instance that has been healthy since
 * its spawn (what `registry.json` holds on its own host), in status order.
 */
export function stackRegistry(stack: StackSpec, status: Record<string, ServiceStatus>): RegistryEntry[] {
  return Object.entries(status)
    .filter(([, s]) => s.pid !== null && s.healthyAt !== null)
    .map(([service, s]) => {
      const address = hostAddress(stack, s.host, s.address);
      return {
        service,
        host: s.host,
        address,
        port: s.port,
        url: s.port !== null && address ? `http://${urlHost(address)}:${s.port}` : null,
        pid: s.pid,
        state: s.state,
        healthyAt: s.healthyAt,
      };
    });
}

/** A service workflow's pending host activity (supervision, a stop, ...), as the server describes it. */
export interface PendingSupervision {
  /** The server's PendingActivityState: the activity runs on a worker (`started`) or waits for one. */
  started: boolean;
  /** Attempt number, from 1; a retry of a heartbeating activity waits for its host's worker. */
  attempt: number;
  /** When its worker last heartbeated (epoch ms), if ever. */
  lastHeartbeatAt: number | null;
  /** When its current or last attempt started (epoch ms). */
  lastStartedAt: number | null;
  /** The last heartbeat's details when they are a sample of the process group (supervision). */
  sample: ResourceSample | null;
}

/** What the supervising worker reports about its process group with each heartbeat. */
export interface ResourceSample {
  pid: number;
  /** Percent of one core since the previous sample; null on the first. */
  cpuPercent: number | null;
  memoryBytes: number;
  /** ISO 8601. */
  sampledAt: string;
}

/** When the service's host last reported on it (its spawn or readiness), epoch ms. */
function lastReported(status: ServiceStatus): number | null {
  const at = Date.parse(status.healthyAt ?? status.startedAt ?? '');
  return Number.isNaN(at) ? null : at;
}

/**
 * A service's status as seen now: the worker's last sample when the supervision is alive; state
 * `unknown` with `unreachableSince` when its host's worker has been silent past the heartbeat
 * timeout (the server then waits for a worker of that host, and nothing else may run the activity);
 * since its last heartbeat, else the start of its attempt, else the host's last report on the service.
 * `now` and the timeout in ms.
 */
export function observeService(status: ServiceStatus, pending: PendingSupervision | undefined, now: number, heartbeatTimeoutMs: number): ServiceStatus {
  if (!pending || status.pid === null) return status;
  const lastHeard = pending.lastHeartbeatAt ?? pending.lastStartedAt;
  const silent = (!pending.started && pending.attempt > 1) || (lastHeard !== null && now - lastHeard > heartbeatTimeoutMs);
  const sample = pending.sample && pending.sample.pid === status.pid ? pending.sample : null;
  if (silent) {
    return {
      ...status,
      state: 'unknown',
      unreachableSince: new Date(lastHeard ?? lastReported(status) ?? now).toISOString(),
      cpuPercent: null,
      memoryBytes: null,
      sampledAt: sample?.sampledAt ?? null,
    };
  }
  if (!sample) return status;
  return { ...status, cpuPercent: sample.cpuPercent, memoryBytes: sample.memoryBytes, sampledAt: sample.sampledAt };
}
