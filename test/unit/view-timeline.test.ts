// The startup timeline (pure): rows relative to the first spawn, and the critical chain.
import { describe, expect, it } from '@jest/globals';
import type { ServiceStatus } from '../../src/model.js';
import { buildTimeline, renderTimeline } from '../../src/cli/view/timeline.js';

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function svc(spawn: number | null, ready: number | null, extra: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    state: ready === null ? 'failed' : 'healthy',
    pid: 100,
    port: null,
    host: 'local',
    restarts: 0,
    manualRestarts: 0,
    backoff: null,
    startedAt: spawn === null ? null : iso(spawn),
    healthyAt: ready === null ? null : iso(ready),
    lastExit: null,
    cpuPercent: null,
    memoryBytes: null,
    error: null,
    ...extra,
  };
}

// The example stack: data and user first; ai, compute, viz need data; the gateway needs all five.
const deps = {
  data: [],
  user: [],
  ai: ['data'],
  compute: ['data'],
  viz: ['data'],
  api_gateway: ['data', 'ai', 'compute', 'viz', 'user'],
};
const names = Object.keys(deps);

describe('buildTimeline', () => {
  const statuses = {
    data: svc(0, 400),
    user: svc(2, 300),
    ai: svc(410, 800),
    compute: svc(405, 600),
    viz: svc(408, 1000),
    api_gateway: svc(1010, 1200),
  };

  it('gives each service spawn and ready times relative to the first spawn, and its wait', () => {
    const timeline = buildTimeline(statuses, names, deps);
    expect(timeline.origin).toBe(T0);
    expect(timeline.totalMs).toBe(1200);
    expect(timeline.rows.find((r) => r.service === 'viz')).toEqual({
      service: 'viz',
      state: 'healthy',
      restarts: 0,
      spawnMs: 408,
      readyMs: 1000,
      waitMs: 8,
    });
    expect(timeline.rows.find((r) => r.service === 'api_gateway')!.waitMs).toBe(10);
    expect(timeline.rows.find((r) => r.service === 'user')!.waitMs).toBe(2);
  });

  it('follows the dependency that became ready last back from the last service ready', () => {
    const { chain, totalMs } = buildTimeline(statuses, names, deps);
    expect(chain.map((s) => s.service)).toEqual(['data', 'viz', 'api_gateway']);
    expect(chain).toEqual([
      { service: 'data', addedMs: 400, waitMs: 0, spawnToReadyMs: 400 },
      { service: 'viz', addedMs: 600, waitMs: 8, spawnToReadyMs: 592 },
      { service: 'api_gateway', addedMs: 200, waitMs: 10, spawnToReadyMs: 190 },
    ]);
    expect(chain.reduce((sum, s) => sum + s.addedMs, 0)).toBe(totalMs);
  });

  it('puts a slow independent service on the chain when it is what the last one waited for', () => {
    const slowUser = { ...statuses, user: svc(2, 1100), api_gateway: svc(1105, 1300) };
    const { chain, totalMs } = buildTimeline(slowUser, names, deps);
    expect(totalMs).toBe(1300);
    expect(chain.map((s) => s.service)).toEqual(['user', 'api_gateway']);
  });

  it('is not fooled by a slow starter that did not end last: the chain is about waiting, not own start time', () => {
    // b takes 900ms to start but starts at once; a -> c -> d are quick each, yet d is ready last.
    const sts = { a: svc(0, 300), b: svc(0, 900), c: svc(310, 700), d: svc(710, 1000) };
    const { chain, totalMs } = buildTimeline(sts, ['a', 'b', 'c', 'd'], { a: [], b: [], c: ['a'], d: ['c'] });
    expect(totalMs).toBe(1000);
    expect(chain.map((s) => s.service)).toEqual(['a', 'c', 'd']);
  });

  it('stays exact when a `started` edge lets a dependent become ready before its dependency', () => {
    // fast needs slow only `started`: it is ready at 200, slow only at 1000; then: needs fast.
    const sts = { slow: svc(0, 1000), fast: svc(10, 200), then: svc(210, 500) };
    const { chain, totalMs } = buildTimeline(sts, ['slow', 'fast', 'then'], { slow: [], fast: ['slow'], then: ['fast'] });
    expect(totalMs).toBe(1000);
    expect(chain.map((s) => s.service)).toEqual(['slow']);
  });

  it('measures a completed one-shot job to its exit, which is what completed_successfully waits for', () => {
    const sts = {
      migrate: svc(0, null, { state: 'completed', pid: null, lastExit: { code: 0, signal: null, at: iso(700) } }),
      api: svc(720, 900),
    };
    const { rows, chain } = buildTimeline(sts, ['migrate', 'api'], { migrate: [], api: ['migrate'] });
    expect(rows.find((r) => r.service === 'migrate')!.readyMs).toBe(700);
    expect(chain.map((s) => `${s.service}:${s.addedMs}`)).toEqual(['migrate:700', 'api:200']);
  });

  it('shows a failed service without a ready time and leaves it off the chain', () => {
    const sts = { db: svc(0, 300), cache: svc(5, null), api: svc(320, 500), web: svc(null, null, { state: 'blocked', pid: null }) };
    const timeline = buildTimeline(sts, ['db', 'cache', 'api', 'web'], { db: [], cache: [], api: ['db'], web: ['cache'] });
    expect(timeline.rows.find((r) => r.service === 'cache')).toMatchObject({ readyMs: null, spawnMs: 5, state: 'failed' });
    expect(timeline.rows.find((r) => r.service === 'web')).toMatchObject({ readyMs: null, spawnMs: null, state: 'blocked' });
    expect(timeline.chain.map((s) => s.service)).toEqual(['db', 'api']);
    expect(timeline.totalMs).toBe(500);
  });

  it('leaves out services that were running before `up` began (attaching to a running stack)', () => {
    const sts = { db: svc(-60_000, -59_000), api: svc(100, 400) };
    const timeline = buildTimeline(sts, ['db', 'api'], { db: [], api: ['db'] }, T0);
    expect(timeline.rows.map((r) => r.service)).toEqual(['api']);
    expect(timeline.origin).toBe(T0 + 100);
    expect(timeline.chain.map((s) => s.service)).toEqual(['api']);
    expect(timeline.totalMs).toBe(300);
  });

  it('is empty when nothing spawned', () => {
    const timeline = buildTimeline({ a: svc(null, null, { state: 'pending' }) }, ['a'], { a: [] });
    expect(timeline.origin).toBeNull();
    expect(timeline.chain).toEqual([]);
    expect(renderTimeline(timeline, false)).toEqual([]);
  });

  it('on random DAGs started as the orchestrator does: the chain ends last, weighs the total, and each step is the gating dependency', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const n = 2 + Math.floor(random() * 10);
      const graph: Record<string, string[]> = {};
      const sts: Record<string, ServiceStatus> = {};
      const ready: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const name = `s${i}`;
        graph[name] = Array.from({ length: i }, (_, j) => `s${j}`).filter(() => random() < 0.3);
        const gate = Math.max(0, ...graph[name]!.map((d) => ready[d]!));
        const spawn = gate + Math.floor(random() * 20);
        ready[name] = spawn + Math.floor(random() * 500);
        sts[name] = svc(spawn, ready[name]!);
      }
      const origin = Math.min(...Object.values(sts).map((s) => Date.parse(s.startedAt!) - T0));
      const last = Math.max(...Object.values(ready));
      const { chain, totalMs } = buildTimeline(sts, Object.keys(graph), graph);
      expect(totalMs).toBe(last - origin);
      expect(ready[chain.at(-1)!.service]).toBe(last);
      expect(graph[chain[0]!.service]).toEqual([]);
      for (let i = 1; i < chain.length; i++) {
        const deps = graph[chain[i]!.service]!;
        expect(deps).toContain(chain[i - 1]!.service);
        expect(ready[chain[i - 1]!.service]).toBe(Math.max(...deps.map((d) => ready[d]!)));
      }
    }
  });
});

describe('renderTimeline', () => {
  it('prints one row per service in spawn order, bars, and the chain with its waits', () => {
    const statuses = {
      data: svc(0, 400),
      user: svc(2, 300),
      ai: svc(410, 800),
      compute: svc(405, 600),
      viz: svc(408, 1000),
      api_gateway: svc(1010, 1200, { restarts: 1 }),
    };
    const lines = renderTimeline(buildTimeline(statuses, names, deps), false);
    expect(lines[0]).toBe('startup timeline (from the first spawn; total 1.2s)');
    expect(lines.slice(2).map((l) => l.trim().split(/\s+/, 1)[0])).toEqual([
      'data',
      'user',
      'compute',
      'viz',
      'ai',
      'api_gateway',
      'critical',
    ]);
    expect(lines.find((l) => l.includes('viz'))).toMatch(/viz\s+\+408ms\s+\+1\.0s\s+592ms\s+ {10}█+$/);
    expect(lines.find((l) => l.includes('api_gateway'))).toContain('(1 restart)');
    expect(lines.at(-1)).toBe('critical chain 1.2s: data (400ms) → viz (waited 8ms + 592ms) → api_gateway (waited 10ms + 190ms)');
    expect(lines.join('\n')).not.toContain('\x1b[');
  });

  it('shows the wait of the first step too (since the first spawn), so the steps add up to the total', () => {
    const lines = renderTimeline(buildTimeline({ user: svc(0, 100), data: svc(74, 413), api: svc(500, 700) }, ['user', 'data', 'api'], { user: [], data: [], api: ['data', 'user'] }), false);
    expect(lines.at(-1)).toBe('critical chain 700ms: data (waited 74ms + 339ms) → api (waited 87ms + 200ms)');
  });

  it('colours the chain when asked', () => {
    const lines = renderTimeline(buildTimeline({ a: svc(0, 10) }, ['a'], { a: [] }), true);
    expect(lines.join('\n')).toContain('\x1b[33ma\x1b[0m');
  });
});
