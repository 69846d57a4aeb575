// Synthetic stacks: a seeded DAG of N services in D levels, and its stackflow and process-compose files.
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadStack } from '../src/config/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';

export interface BenchCase {
  name: string;
  services: number;
  depth: number;
  readyMs: number;
  seed: number;
  /** The repo's own `stack.yaml` (its Node services on free ports) instead of a generated graph. */
  example?: boolean;
}

export const CASES: BenchCase[] = [
  { name: 'a', services: 10, depth: 3, readyMs: 300, seed: 1 },
  { name: 'b', services: 50, depth: 5, readyMs: 300, seed: 2 },
  { name: 'c', services: 300, depth: 6, readyMs: 100, seed: 3 },
  // services and depth as in stack.yaml (checked when the case is built); the services' own start-up, no added delay
  { name: 'example', services: 6, depth: 3, readyMs: 0, seed: 0, example: true },
];

/** What runs one service of a stack that is not made of the fixture: its argv and its whole environment. */
export interface ServiceCommand {
  command: string[];
  env: Record<string, string>;
}

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
  /** For the example stack: its stack file as stackflow gets it, and each service's command and environment for the other runners. */
  custom?: { stackFile: Record<string, unknown>; services: Record<string, ServiceCommand> };
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
    // A random start within 6000 ports, so two benches running at once rarely pick the same ones.
    nextPort = Math.max(1024, (low ?? 32768) - 12000 + Math.floor(Math.random() * 6000));
  }
  const ports: Record<string, number> = {};
  for (const name of names) {
    while (!(await isFree(nextPort))) nextPort++;
    ports[name] = nextPort++;
  }
  return ports;
}

const SLOW_MACHINE_DEADLINE = '5m';

/** `restart`: the stack's default restart policy (stack-file grammar); none by default, so a failure shows as one. */
export function stackflowStackFile(stackName: string, s: StackInstance, restart: Record<string, unknown> = { policy: 'never' }): string {
  if (s.custom) return stringify({ ...s.custom.stackFile, name: stackName });
  const services = Object.fromEntries(
    s.dag.names.map((name) => [
      name,
      {
        command: ['/bin/bash', FIXTURE],
        port: s.ports[name],
        // Deadlines far beyond any run (as process-compose's failure_threshold below): a loaded machine
        // gives slow figures, not a run that failed because a dependency wait or a readiness wait expired.
        ...(s.dag.deps[name]!.length
          ? { depends_on: Object.fromEntries(s.dag.deps[name]!.map((d) => [d, { condition: 'healthy', timeout: SLOW_MACHINE_DEADLINE }])) }
          : {}),
        health: { http: { url: `http://127.0.0.1:${s.ports[name]}/health` }, interval: '1s', ready_timeout: SLOW_MACHINE_DEADLINE },
      },
    ]),
  );
  return stringify({
    name: stackName,
    env: s.env,
    defaults: { restart, shutdown: { signal: 'SIGTERM', timeout: '5s' } },
    services,
  });
}

/** How a runner other than stackflow starts `name`: the fixture with the shared environment, or the example's own command. */
export function serviceCommand(s: StackInstance, name: string): ServiceCommand {
  return s.custom?.services[name] ?? { command: ['/bin/bash', FIXTURE], env: { ...s.env, PORT: String(s.ports[name]), STACKFLOW_SERVICE: name } };
}

export function processComposeFile(s: StackInstance): string {
  const processes = Object.fromEntries(
    s.dag.names.map((name) => [
      name,
      {
        // bench paths and the example's arguments hold no spaces or quotes
        command: `exec ${serviceCommand(s, name).command.join(' ')}`,
        environment: Object.entries(serviceCommand(s, name).env).map(([k, v]) => `${k}=${v}`),
        ...(s.dag.deps[name]!.length
          ? { depends_on: Object.fromEntries(s.dag.deps[name]!.map((d) => [d, { condition: 'process_healthy' }])) }
          : {}),
        readiness_probe: {
          http_get: { host: '127.0.0.1', port: String(s.ports[name]), path: '/health' },
          initial_delay_seconds: 0,
          period_seconds: 1, // its fastest: an integer, minimum 1
          timeout_seconds: 1,
          failure_threshold: 300, // 5 min (SLOW_MACHINE_DEADLINE), counted from the first probe
        },
        availability: { restart: 'no' },
        shutdown: { signal: 15, timeout_seconds: 5 },
      },
    ]),
  );
  return stringify({ version: '0.5', is_strict: true, ordered_shutdown: true, processes });
}

const STAMP_EXEC = path.join(PACKAGE_ROOT, 'bench/fixture/stamp-exec.sh');
const STAMP_PRELOAD = path.join(PACKAGE_ROOT, 'bench/fixture/stamp.mjs');

interface ExampleService {
  command: string[];
  port: number;
  health: { http: { url: string } };
  disabled?: boolean;
}

/**
 * The repo's `stack.yaml` as a bench stack: its enabled services on free ports (health URLs
 * follow), each command run through `stamp-exec.sh` (spawn stamp) with `stamp.mjs` preloaded
 * (ready and term stamps), written to `<dir>/example-stack.yaml` and loaded with stackflow's own
 * loader, whose resolved commands and environments the other runners use.
 */
export async function exampleInstance(c: BenchCase, dir: string, timelineFile: string): Promise<StackInstance> {
  const raw = parse(readFileSync(path.join(PACKAGE_ROOT, 'stack.yaml'), 'utf8')) as { env?: Record<string, string>; services: Record<string, ExampleService> };
  const enabled = Object.entries(raw.services).filter(([, svc]) => !svc.disabled);
  const ports = await allocatePorts(enabled.map(([name]) => name));
  const inRepo = (arg: string) => (existsSync(path.join(PACKAGE_ROOT, arg)) ? path.join(PACKAGE_ROOT, arg) : arg);
  const services = Object.fromEntries(
    enabled.map(([name, svc]) => [
      name,
      {
        ...svc,
        command: ['/bin/bash', STAMP_EXEC, ...svc.command.map(inRepo)],
        port: ports[name],
        health: { ...svc.health, http: { ...svc.health.http, url: svc.health.http.url.replace(`:${svc.port}/`, `:${ports[name]}/`) } },
      },
    ]),
  );
  const env = { ...raw.env, TIMELINE_FILE: timelineFile, NODE_OPTIONS: `--import=${STAMP_PRELOAD}` };
  const stackFile = { ...raw, env, services };
  const file = path.join(dir, 'example-stack.yaml');
  await writeFile(file, stringify(stackFile));
  const loaded = await loadStack(file);
  const names = loaded.levels.flat();
  if (names.length !== c.services || loaded.levels.length !== c.depth) {
    throw new Error(`stack.yaml now has ${names.length} services in ${loaded.levels.length} levels: update the example case in bench/generate.ts`);
  }
  const spec = loaded.spec.services;
  return {
    dag: { names, deps: Object.fromEntries(names.map((n) => [n, Object.keys(spec[n]!.dependsOn)])) },
    ports,
    env,
    timelineFile,
    custom: {
      stackFile,
      services: Object.fromEntries(names.map((n) => [n, { command: spec[n]!.command, env: { ...process.env, ...spec[n]!.env } as Record<string, string> }])),
    },
  };
}
