// Synthetic stacks: a seeded DAG of N services in D levels, and its stackflow and process-compose files.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../src/paths.js';

export interface BenchCase {
  name: string;
  services: number;
  depth: number;
  readyMs: number;
  seed: number;
}

export const CASES: BenchCase[] = [
  { name: 'a', services: 10, depth: 3, readyMs: 300, seed: 1 },
  { name: 'b', services: 50, depth: 5, readyMs: 300, seed: 2 },
  { name: 'c', services: 300, depth: 6, readyMs: 100, seed: 3 },
];

export interface Dag {
  /** In start order: every service comes after its dependencies. */
  names: string[];
  deps: Record<string, string[]>;
}

/** Everything a runner needs to start one copy of the stack. */
export interface StackInstance {
  dag: Dag;
  ports: Record<string, number>;
  /** Environment of every service (the runner adds PORT and STACKFLOW_SERVICE where it must). */
  env: Record<string, string>;
  timelineFile: string;
}

export const FIXTURE = path.join(PACKAGE_ROOT, 'bench/fixture/svc.sh');

/** mulberry32: a tiny seeded PRNG, so the same case always yields the same graph. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Levels of near-equal size; a service of level L > 0 depends on one service of level L-1 (so the
 * longest chain has exactly D services) and on up to two more of any earlier level (fan-in).
 */
export function generateDag(c: BenchCase): Dag {
  const rand = random(c.seed);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)]!;
  const width = String(c.services - 1).length;
  const levels: string[][] = [];
  let next = 0;
  for (let level = 0; level < c.depth; level++) {
    const size = Math.floor(c.services / c.depth) + (level < c.services % c.depth ? 1 : 0);
    levels.push(Array.from({ length: size }, () => `s${String(next++).padStart(width, '0')}`));
  }
  const deps: Record<string, string[]> = {};
  levels.forEach((names, level) => {
    for (const name of names) {
      if (level === 0) {
        deps[name] = [];
        continue;
      }
      const chosen = new Set([pick(levels[level - 1]!)]);
      const extra = Math.floor(rand() * 3);
      for (let i = 0; i < extra; i++) chosen.add(pick(levels[Math.floor(rand() * level)]!));
      deps[name] = [...chosen].sort();
    }
  });
  return { names: levels.flat(), deps };
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

let nextPort = 0;

/**
 * Free ports below the kernel's ephemeral range: a port taken from that range could be grabbed by
 * an outgoing connection (a probe, a gRPC call) before the service binds it.
 */
export async function allocatePorts(names: string[]): Promise<Record<string, number>> {
  if (nextPort === 0) {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    nextPort = Math.max(1024, (low ?? 32768) - 12000);
  }
  const ports: Record<string, number> = {};
  for (const name of names) {
    while (!(await isFree(nextPort))) nextPort++;
    ports[name] = nextPort++;
  }
  return ports;
}

export function stackflowStackFile(stackName: string, s: StackInstance): string {
  const services = Object.fromEntries(
    s.dag.names.map((name) => [
      name,
      {
        command: ['/bin/bash', FIXTURE],
        port: s.ports[name],
        ...(s.dag.deps[name]!.length ? { depends_on: Object.fromEntries(s.dag.deps[name]!.map((d) => [d, 'healthy'])) } : {}),
        health: { http: { url: `http://127.0.0.1:${s.ports[name]}/health` }, interval: '1s' },
      },
    ]),
  );
  return stringify({
    name: stackName,
    env: s.env,
    // A failure must show as a failure, not be hidden by a retry.
    defaults: { restart: { policy: 'never' }, shutdown: { signal: 'SIGTERM', timeout: '5s' } },
    services,
  });
}

export function processComposeFile(s: StackInstance): string {
  const processes = Object.fromEntries(
    s.dag.names.map((name) => [
      name,
      {
        command: `exec /bin/bash ${FIXTURE}`,
        environment: Object.entries({ ...s.env, PORT: String(s.ports[name]), STACKFLOW_SERVICE: name }).map(([k, v]) => `${k}=${v}`),
        ...(s.dag.deps[name]!.length
          ? { depends_on: Object.fromEntries(s.dag.deps[name]!.map((d) => [d, { condition: 'process_healthy' }])) }
          : {}),
        readiness_probe: {
          http_get: { host: '127.0.0.1', port: String(s.ports[name]), path: '/health' },
          initial_delay_seconds: 0,
          period_seconds: 1, // its fastest: an integer, minimum 1
          timeout_seconds: 1,
          failure_threshold: 120, // counts from the first probe: must outlast the slowest start
        },
        availability: { restart: 'no' },
        shutdown: { signal: 15, timeout_seconds: 5 },
      },
    ]),
  );
  return stringify({ version: '0.5', is_strict: true, ordered_shutdown: true, processes });
}
