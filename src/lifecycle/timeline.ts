// A stack's startup timeline (pure; importable from workflow code): per service spawn -> ready,
// relative to the first spawn, and the critical chain that decided the total. `up` prints it; the
// stack workflow shows it in the Web UI's current details.
import { longestChain, type DependencyMap } from '../graph/index.js';
import type { ServiceStatus } from '../model.js';
import { lookup } from '../name-map.js';

export interface TimelineRow {
  service: string;
  state: ServiceStatus['state'];
  restarts: number;
  /** ms after the first spawn; null when the service never spawned in this startup. */
  spawnMs: number | null;
  /** ms after the first spawn at which it became ready (healthy, or exited 0 for a one-shot job). */
  readyMs: number | null;
  /** ms between the last of its dependencies becoming ready and its own spawn (0 without dependencies). */
  waitMs: number | null;
}

export interface ChainStep {
  service: string;
  /** What this service added to the total: the wait for its dependency plus its own spawn -> ready. */
  addedMs: number;
  waitMs: number;
  spawnToReadyMs: number;
}

export interface Timeline {
  /** Epoch ms of the first spawn: time 0 of the rows. */
  origin: number | null;
  rows: TimelineRow[];
  /** First spawn -> last service ready. */
  totalMs: number;
  /** From a service without (timed) dependencies to the last one to become ready. */
  chain: ChainStep[];
}

const at = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};

/** When the service became ready: healthyAt; for a completed one-shot job, its exit (what `completed_successfully` waits for). */
function readyAt(s: ServiceStatus): number | null {
  if (s.state === 'completed') return at(s.lastExit?.at) ?? at(s.healthyAt);
  return s.state === 'healthy' || s.state === 'unhealthy' || s.state === 'stopping' ? at(s.healthyAt) : null;
}

/**
 * Builds the timeline of the services `services` (those that `up` started) from the final status.
 * Services whose spawn is before `since` (already running when `up` began) are left out, so that
 * attaching to a running stack does not stretch the timeline back to its original start.
 *
 * The critical chain. The total is T = (last ready) - (first spawn). We want the path of dependency
 * edges that explains T: start at the last service to become ready, step to the dependency that
 * gated it (the one that became ready last), and so on back to a service without dependencies.
 * With longestChain(deps, weight) that path falls out when
 *
 *   weight(s) = ready(s) - max(first spawn, latest(d)) over its dependencies d, floored at 0,
 *   latest(d) = the latest ready time of d and everything d depends on (transitively),
 *
 * i.e. what s added on top of everything it waited for: its wait between the dependency's readiness
 * and its own spawn (the orchestrator's reaction time, plus failed attempts) plus its own spawn ->
 * ready. Along the gating path the weights telescope, so the heaviest chain ending at s weighs
 * exactly latest(s) - first spawn; any other path to s weighs less or the same (a dependency that
 * was ready earlier contributes less). The heaviest chain overall therefore ends at the last service
 * ready, weighs exactly T, and runs along the gating dependencies. Ties (two dependencies ready at
 * the same instant) go to the chain met first in start order, as longestChain documents. Using
 * latest(d) rather than ready(d) keeps this exact when an edge is `started` and a dependent became
 * ready before its own dependency did. A service's own spawn -> ready alone would not do: it
 * ignores the waits, and a chain of slow starters need not be the one that ended last.
 */
export function buildTimeline(
  statuses: Readonly<Record<string, ServiceStatus>>,
  services: readonly string[],
  deps: DependencyMap,
  since = -Infinity,
): Timeline {
  const included = services.filter((name) => {
    const s = lookup(statuses, name);
    const spawn = s ? at(s.startedAt) : null;
    return s && !(spawn !== null && spawn < since);
  });
  const spawns = included.map((n) => at(statuses[n]!.startedAt)).filter((t): t is number => t !== null);
  const origin = spawns.length ? Math.min(...spawns) : null;
  const ready = new Map(included.map((n) => [n, readyAt(statuses[n]!)] as const));

  // The subgraph of the included services: edges to services outside it gated nothing in this startup.
  const graph: Record<string, string[]> = Object.fromEntries(
    included.map((n) => [n, (deps[n] ?? []).filter((d) => ready.has(d))]),
  );
  const rows: TimelineRow[] = included.map((service) => {
    const s = statuses[service]!;
    const spawn = at(s.startedAt);
    const done = ready.get(service) ?? null;
    const depsReady = graph[service]!.map((d) => ready.get(d)).filter((t): t is number => t !== null && t !== undefined);
    const gate = depsReady.length ? Math.max(...depsReady) : origin;
    return {
      service,
      state: s.state,
      restarts: s.restarts,
      spawnMs: spawn === null || origin === null ? null : spawn - origin,
      readyMs: done === null || origin === null ? null : done - origin,
      waitMs: spawn === null || gate === null ? null : Math.max(0, spawn - gate),
    };
  });
  if (origin === null) return { origin, rows, totalMs: 0, chain: [] };

  // latest(s): the latest readiness among s and everything it depends on, in start order.
  const latest = new Map<string, number>();
  const latestOf = (name: string): number => {
    const known = latest.get(name);
    if (known !== undefined) return known;
    const value = Math.max(ready.get(name) ?? origin, ...graph[name]!.map(latestOf));
    latest.set(name, value);
    return value;
  };
  const weight = (name: string) => {
    const own = ready.get(name);
    if (own === null || own === undefined) return 0;
    const before = Math.max(origin, ...graph[name]!.map(latestOf));
    return Math.max(0, own - before);
  };
  const { total, chain } = longestChain(graph, weight);
  const byName = new Map(rows.map((r) => [r.service, r]));
  // Nothing became ready: no chain decided anything.
  const anyReady = [...ready.values()].some((t) => t !== null);
  const steps = (anyReady ? chain : []).map((service) => {
    const row = byName.get(service)!;
    const spawnToReady = row.readyMs !== null && row.spawnMs !== null ? row.readyMs - row.spawnMs : 0;
    return { service, addedMs: weight(service), waitMs: row.waitMs ?? 0, spawnToReadyMs: spawnToReady };
  });
  return { origin, rows, totalMs: total, chain: steps };
}
