// Figures computed from the services' own timeline stamps (epoch ms, comparable across processes).
import { readFile } from 'node:fs/promises';
import { longestChain } from '../src/graph/index.js';
import type { Dag } from './generate.js';

export interface ServiceTimes {
  spawn: number;
  ready: number;
  term?: number;
}

export interface Distribution {
  count: number;
  min: number;
  median: number;
  p90: number;
  p95: number;
  max: number;
}

export interface Handoff {
  service: string;
  /** Its slowest dependency: the one whose readiness released it. */
  dep: string;
  ms: number;
}

export interface StartMetrics {
  upStartedAt: number;
  /** Orchestrator's start (command launched) to all ready as it reports (command returned, API says so). */
  upMs: number;
  /** First service spawn to last service ready. */
  spanMs: number;
  /** Each service's own spawn→ready summed along the heaviest dependency chain. */
  criticalPathMs: number;
  criticalChain: string[];
  upOverCriticalPath: number;
  spanOverCriticalPath: number;
  /** Orchestrator start to the first spawn: CLI boot, worker, workflow start. */
  startLagMs: number;
  /** Last service ready to the orchestrator reporting it. */
  returnLagMs: number;
  handoff: Distribution;
  handoffs: Handoff[];
}

export interface DrainMetrics {
  /** The stop command (or signal) to the orchestrator being done. */
  downMs: number;
  /** First SIGTERM received by a service to the last. */
  termSpanMs: number | null;
}

/** One line of a timeline file: what a service process stamped, when (epoch ms), under which pid. */
export interface Stamp {
  service: string;
  event: keyof ServiceTimes;
  t: number;
  pid: number;
}

/** Every stamp of a timeline file in file order; none when the file does not exist yet. */
export async function readStamps(file: string): Promise<Stamp[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Stamp);
}

/** Each service's first spawn, ready and term stamps. */
export async function readTimeline(file: string): Promise<Map<string, ServiceTimes>> {
  const stamps = new Map<string, Partial<ServiceTimes>>();
  for (const { service, event, t } of await readStamps(file)) {
    const times = stamps.get(service) ?? {};
    times[event] ??= t; // a restarted service keeps its first stamps
    stamps.set(service, times);
  }
  return stamps as Map<string, ServiceTimes>;
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
  return { count: sorted.length, min: sorted[0] ?? NaN, median: rank(0.5), p90: rank(0.9), p95: rank(0.95), max: sorted.at(-1) ?? NaN };
}

export function missingServices(dag: Dag, times: Map<string, ServiceTimes>): string[] {
  return dag.names.filter((name) => times.get(name)?.spawn === undefined || times.get(name)?.ready === undefined);
}

export function startMetrics(dag: Dag, times: Map<string, ServiceTimes>, upStart: number, upEnd: number): StartMetrics {
  const missing = missingServices(dag, times);
  if (missing.length) throw new Error(`no spawn/ready stamp from ${missing.length} service(s): ${missing.slice(0, 5).join(', ')}`);
  const at = (name: string) => times.get(name)!;
  const firstSpawn = Math.min(...dag.names.map((n) => at(n).spawn));
  const lastReady = Math.max(...dag.names.map((n) => at(n).ready));
  const critical = longestChain(dag.deps, (n) => at(n).ready - at(n).spawn);
  const handoffs: Handoff[] = dag.names
    .filter((name) => dag.deps[name]!.length)
    .map((service) => {
      const dep = dag.deps[service]!.reduce((a, b) => (at(b).ready > at(a).ready ? b : a));
      return { service, dep, ms: at(service).spawn - at(dep).ready };
    });
  const upMs = upEnd - upStart;
  const spanMs = lastReady - firstSpawn;
  return {
    upStartedAt: upStart,
    upMs,
    spanMs,
    criticalPathMs: critical.total,
    criticalChain: critical.chain,
    upOverCriticalPath: upMs / critical.total,
    spanOverCriticalPath: spanMs / critical.total,
    startLagMs: firstSpawn - upStart,
    returnLagMs: upEnd - lastReady,
    handoff: distribution(handoffs.map((h) => h.ms)),
    handoffs,
  };
}

export function drainMetrics(times: Map<string, ServiceTimes>, downStart: number, downEnd: number): DrainMetrics {
  const terms = [...times.values()].map((t) => t.term).filter((t): t is number => t !== undefined);
  return { downMs: downEnd - downStart, termSpanMs: terms.length ? Math.max(...terms) - Math.min(...terms) : null };
}
