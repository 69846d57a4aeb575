// Hosts (pure): `hosts:` in the stack file, <DEP>_URL across hosts, the stack's registry, and how a
// service looks when its host's worker is silent.
import { describe, expect, it } from '@jest/globals';
import { parseStack } from '../../src/config/index.js';
import { hostAddress, observeService, stackRegistry, withHostAddresses, type PendingSupervision } from '../../src/lifecycle/hosts.js';
import { emptyServiceStatus } from '../../src/lifecycle/status.js';
import type { ServiceStatus, StackSpec } from '../../src/model.js';
import { stackProblems } from '../support/stack-problems.js';

const parse = (text: string) => parseStack(text, { file: '/tmp/hosts/stack.yaml', env: {} }).spec;

const STACK = `
name: shop
hosts: { a: { address: 10.0.0.5 }, b: {} }
services:
  db: { command: x, port: 5432, host: a }
  cache: { command: x, port: 6379, host: b }
  api: { command: x, port: 8000, host: b, depends_on: [db, cache] }
  worker: { command: x, host: b, replicas: 2, depends_on: [api] }
`;

describe('hosts: in the stack file', () => {
  it('is a null-prototype map; a host may be listed without an address', () => {
    const spec = parse(STACK);
    expect(Object.getPrototypeOf(spec.hosts)).toBeNull();
    expect({ ...spec.hosts }).toEqual({ a: { address: '10.0.0.5' }, b: {} });
  });

  it('makes an unknown host: an error naming the field, with a did-you-mean', () => {
    const problems = stackProblems(() => parse(`${STACK}  extra: { command: x, host: bb }\n`));
    expect(problems).toEqual([expect.stringMatching(/^services\.extra\.host: unknown host "bb" \(did you mean "b"\?\) \(declare it under hosts:, which lists a, b\)$/)]);
  });

  it('rejects an unknown key in a host entry', () => {
    expect(stackProblems(() => parse(STACK.replace('b: {}', 'b: { adress: x }'))).join('\n')).toMatch(/hosts\.b.*unknown key "adress" \(did you mean "address"\?\)/);
  });

  it('leaves host: free without a hosts: map', () => {
    expect(parse('services: { api: { command: x, host: anything } }').services.api!.host).toBe('anything');
  });
});

describe('withHostAddresses', () => {
  const spec = parse(STACK);
  const api = spec.services.api!;

  it('injects loopback at load time, for <DEP>_URL and <DEP>_HOST', () => {
    expect(api.env.DB_URL).toBe('http://127.0.0.1:5432');
    expect(api.env.DB_HOST).toBe('127.0.0.1');
    expect(api.publicEnv).toContain('DB_HOST');
  });

  it('points a dependency on another host at that host; same-host ones stay loopback', () => {
    const launched = withHostAddresses(api, spec, (dep) => hostAddress(spec, spec.services[dep]!.host, dep === 'db' ? '192.168.1.9' : '10.9.9.9'));
    expect(launched.env.DB_URL).toBe('http://10.0.0.5:5432'); // the hosts: map wins over the advertised address
    expect(launched.env.DB_HOST).toBe('10.0.0.5');
    expect(launched.env.CACHE_URL).toBe('http://127.0.0.1:6379');
    expect(launched.env.DB_PORT).toBe('5432');
    expect(api.env.DB_URL).toBe('http://127.0.0.1:5432'); // the stack's own spec is untouched
  });

  it('uses the advertised address where the map gives none, brackets IPv6, and leaves unknown addresses alone', () => {
    const onA = { ...spec, services: { ...spec.services, cache: { ...spec.services.cache!, host: 'c' } } };
    expect(withHostAddresses(api, onA, () => 'fd00::7').env.CACHE_URL).toBe('http://[fd00::7]:6379');
    expect(withHostAddresses(api, onA, () => null).env.CACHE_URL).toBe('http://127.0.0.1:6379');
  });

  it('keeps a variable the stack file set itself', () => {
    const own = { ...api, env: { ...api.env, DB_URL: 'postgres://db.internal/shop' } };
    expect(withHostAddresses(own, spec, () => '10.0.0.5').env.DB_URL).toBe('postgres://db.internal/shop');
  });
});

const running = (host: string, port: number | undefined, fields: Partial<ServiceStatus> = {}): ServiceStatus => ({
  ...emptyServiceStatus(host, port),
  state: 'healthy',
  pid: 100,
  healthyAt: '2026-01-01T00:00:00.000Z',
  ...fields,
});

describe('stackRegistry', () => {
  it('lists each running instance with the url other hosts reach it at', () => {
    const spec = parse(STACK) as StackSpec;
    const entries = stackRegistry(spec, {
      db: running('a', 5432, { address: '192.168.1.9' }),
      api: running('b', 8000, { address: '10.0.0.6', pid: 101 }),
      'worker#0': running('b', undefined, { address: '10.0.0.6', pid: 102 }),
      'worker#1': running('b', undefined, { address: '10.0.0.6', pid: 103 }),
      cache: { ...running('b', 6379), state: 'starting', healthyAt: null },
    });
    expect(entries.map((e) => [e.service, e.host, e.url, e.pid])).toEqual([
      ['db', 'a', 'http://10.0.0.5:5432', 100],
      ['api', 'b', 'http://10.0.0.6:8000', 101],
      ['worker#0', 'b', null, 102],
      ['worker#1', 'b', null, 103],
    ]);
  });
});

describe('observeService', () => {
  const now = Date.parse('2026-01-01T00:01:00.000Z');
  const base = running('b', 8000, { pid: 4242 });
  const pending = (fields: Partial<PendingSupervision>): PendingSupervision => ({
    started: true,
    attempt: 1,
    lastHeartbeatAt: now - 1000,
    lastStartedAt: now - 50_000,
    sample: { pid: 4242, cpuPercent: 1.5, memoryBytes: 45_000_000, sampledAt: '2026-01-01T00:00:59.000Z' },
    ...fields,
  });

  it('takes CPU and memory from the host worker sample of this pid', () => {
    expect(observeService(base, pending({}), now, 3000)).toMatchObject({ state: 'healthy', cpuPercent: 1.5, memoryBytes: 45_000_000 });
    expect(observeService(base, pending({ sample: { pid: 1, cpuPercent: 9, memoryBytes: 1, sampledAt: '' } }), now, 3000)).toMatchObject({ cpuPercent: null });
  });

  it('is unknown, not crashed, once the worker is silent past the heartbeat timeout or its activity waits for a worker', () => {
    const silent = observeService(base, pending({ lastHeartbeatAt: now - 4000 }), now, 3000);
    expect(silent).toMatchObject({ state: 'unknown', pid: 4242, unreachableSince: '2026-01-01T00:00:56.000Z', cpuPercent: null });
    expect(observeService(base, pending({ started: false, attempt: 2 }), now, 3000).state).toBe('unknown');
    // Never heard from since its retry: since its host last reported (its healthyAt), at the latest.
    expect(observeService(base, pending({ started: false, attempt: 2, lastHeartbeatAt: null, lastStartedAt: null }), now, 3000)).toMatchObject({
      state: 'unknown',
      unreachableSince: '2026-01-01T00:00:00.000Z',
    });
  });

  it('is left alone while a first attempt waits for its worker, or without a process', () => {
    expect(observeService(base, pending({ started: false, attempt: 1, sample: null }), now, 3000).state).toBe('healthy');
    expect(observeService({ ...base, pid: null }, pending({ lastHeartbeatAt: 0 }), now, 3000).state).toBe('healthy');
  });
});
