// Reference starters run inside the bench process, no Temporal: a naive sequential one, and a tight
// one that starts each service the moment its dependencies are ready (the floor for HTTP probing).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { serviceCommand, type StackInstance } from './generate.js';
import { drainMetrics, readTimeline, startMetrics } from './metrics.js';
import { withTimeout } from './processes.js';
import type { RunResult } from './report.js';

export type BaselineKind = 'sequential' | 'tight';

const PROBE_EVERY_MS = 2;

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

async function untilReady(port: number, deadline: number): Promise<void> {
  while (!(await probe(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} not ready in time`);
    await sleep(PROBE_EVERY_MS);
  }
}

export async function runBaseline(kind: BaselineKind, s: StackInstance, timeoutMs: number): Promise<RunResult> {
  const children = new Map<string, ChildProcess>();
  const start = (name: string) => {
    const { command, env } = serviceCommand(s, name);
    // Own process group, as stackflow and process-compose do, so a stop reaches the whole service.
    children.set(name, spawn(command[0]!, command.slice(1), { detached: true, stdio: 'ignore', env: { ...process.env, ...env } }));
  };
  const deadline = Date.now() + timeoutMs;
  const upStart = Date.now();
  if (kind === 'sequential') {
    for (const name of s.dag.names) {
      start(name);
      await untilReady(s.ports[name]!, deadline);
    }
  } else {
    const ready = new Map<string, Promise<void>>();
    for (const name of s.dag.names) {
      // names are in start order, so every dependency's promise exists already
      const deps = s.dag.deps[name]!.map((d) => ready.get(d)!);
      ready.set(
        name,
        Promise.all(deps).then(() => {
          start(name);
          return untilReady(s.ports[name]!, deadline);
        }),
      );
    }
    await Promise.all(ready.values());
  }
  const upEnd = Date.now();
  const startFigures = startMetrics(s.dag, await readTimeline(s.timelineFile), upStart, upEnd);

  const downStart = Date.now();
  const exits = [...children.values()].map(
    (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
  );
  for (const child of children.values()) process.kill(-child.pid!, 'SIGTERM');
  await withTimeout(Promise.all(exits), 30_000, `${kind} services to exit`);
  const drain = drainMetrics(await readTimeline(s.timelineFile), downStart, Date.now());
  return { runner: kind, start: startFigures, drain, peakRssBytes: null, history: null, leftovers: 0 };
}
