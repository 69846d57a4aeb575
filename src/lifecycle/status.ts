// Status reduction (pure): from per-service states to the stack's state (SPEC §6).
import type { ServiceState, ServiceStatus, StackState } from '../model.js';

export type StackPhase = 'running' | 'draining' | 'drained';

const SETTLED_OK: ReadonlySet<ServiceState> = new Set(['healthy', 'completed']);
const BROKEN: ReadonlySet<ServiceState> = new Set(['failed', 'blocked']);

/**
 * The stack's state from its services' and its own phase. While the stack runs, a `stopped` service
 * was stopped on request (`stackflow stop`): settled, so the others' states decide (`running` with
 * it shown `stopped`), never `starting` for good.
 */
export function reduceStackState(services: ServiceStatus[], phase: StackPhase): StackState {
  if (phase === 'drained') return services.some((s) => s.state === 'failed') ? 'failed' : 'stopped';
  if (phase === 'draining') return 'stopping';
  if (services.some((s) => BROKEN.has(s.state))) return 'degraded';
  if (services.every((s) => SETTLED_OK.has(s.state) || s.state === 'stopped')) return 'running';
  return 'starting';
}

/** True once `up -d` can return: every service is healthy/completed, or one is broken. */
export function isSettled(services: ServiceStatus[]): boolean {
  return services.every((s) => SETTLED_OK.has(s.state) || BROKEN.has(s.state) || s.state === 'stopped');
}

export function emptyServiceStatus(host: string, port: number | undefined): ServiceStatus {
  return {
    state: 'pending',
    pid: null,
    port: port ?? null,
    host,
    address: null,
    restarts: 0,
    manualRestarts: 0,
    backoff: null,
    startedAt: null,
    healthyAt: null,
    lastExit: null,
    cpuPercent: null,
    memoryBytes: null,
    error: null,
  };
}

/**
 * A service's error as one table cell: its first line, without the service's own name (`viz: exited
 * with code 1` in the row of viz reads `exited with code 1`). The full text stays in `status <svc>`
 * and `status --json`.
 */
export function errorSummary(service: string, error: string | null): string {
  if (!error) return '';
  const first = error.split('\n', 1)[0]!;
  return first.split(`${service}: `).join('');
}
