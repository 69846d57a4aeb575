import { describe, expect, test } from '@jest/globals';
import { backoffDelay, restartsInWindow, runMarkerLine, RESTART_WINDOW_MS } from '../../src/lifecycle/backoff.js';
import { dependencyVerdict } from '../../src/lifecycle/dependencies.js';
import { emptyServiceStatus, isSettled, reduceStackState } from '../../src/lifecycle/status.js';
import { isEmptyPlan, planReload } from '../../src/lifecycle/reload.js';
import type { ServiceSpec, ServiceState, ServiceStatus, StackSpec } from '../../src/model.js';

const backoff = { initialMs: 1000, maxMs: 30_000, factor: 2 };
const middle = () => 0.5;

function service(state: ServiceState, pid: number | null = null): ServiceStatus {
  return { ...emptyServiceStatus('local', 8000), state, pid };
}

describe('backoffDelay', () => {
  test('grows by the factor from the initial delay and stops at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(backoff, n, middle))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  test('jitter spreads the delay by at most ±10% and never past the maximum', () => {
    expect(backoffDelay(backoff, 1, () => 0)).toBe(900);
    expect(backoffDelay(backoff, 1, () => 1)).toBe(1100);
    expect(backoffDelay(backoff, 10, () => 1)).toBe(30_000);
  });
});

describe('restartsInWindow', () => {
  test('keeps only restarts younger than the 10-minute window', () => {
    const now = 100 * RESTART_WINDOW_MS;
    expect(restartsInWindow([now - RESTART_WINDOW_MS - 1, now - RESTART_WINDOW_MS + 1, now - 5], now)).toEqual([
      now - RESTART_WINDOW_MS + 1,
      now - 5,
    ]);
  });
});

describe('dependencyVerdict', () => {
  test.each([
    ['started', 'starting', 123, 'met'],
    ['started', 'starting', null, 'waiting'],
    ['started', 'completed', null, 'met'],
    ['healthy', 'starting', 123, 'waiting'],
    ['healthy', 'healthy', 123, 'met'],
    ['healthy', 'restarting', null, 'waiting'],
    ['healthy', 'completed', null, 'unreachable'],
    ['healthy', 'failed', null, 'unreachable'],
    ['healthy', 'blocked', null, 'unreachable'],
    ['completed_successfully', 'healthy', 123, 'waiting'],
    ['completed_successfully', 'completed', null, 'met'],
    ['completed_successfully', 'failed', null, 'unreachable'],
  ] as const)('%s on a %s dependency (pid %s) is %s', (condition, state, pid, verdict) => {
    expect(dependencyVerdict(condition, service(state, pid))).toBe(verdict);
  });
});

describe('runMarkerLine', () => {
  test('one wording for every run; the restarts before it only when there were some', () => {
    expect(runMarkerLine(0, 0, ['node', 'data.mjs'])).toBe('— run 1: node data.mjs');
    expect(runMarkerLine(0, 1, ['node', 'data.mjs'])).toBe('— run 2 (after 1 manual restart): node data.mjs');
    expect(runMarkerLine(2, 0, ['x'])).toBe('— run 3 (after 2 crash restarts): x');
    expect(runMarkerLine(2, 1, ['x'])).toBe('— run 4 (after 2 crash restarts, 1 manual restart): x');
  });
});

describe('reduceStackState', () => {
  test('starting while anything is on its way, running once all are healthy or done', () => {
    expect(reduceStackState([service('healthy'), service('starting')], 'running')).toBe('starting');
    expect(reduceStackState([service('healthy'), service('completed')], 'running')).toBe('running');
  });

  test('a service stopped on request while the stack runs is settled: running, not starting', () => {
    expect(reduceStackState([service('healthy'), service('stopped')], 'running')).toBe('running');
    expect(reduceStackState([service('starting'), service('stopped')], 'running')).toBe('starting');
    expect(reduceStackState([service('stopped'), service('failed')], 'running')).toBe('degraded');
  });

  test('degraded as soon as one service failed or is blocked', () => {
    expect(reduceStackState([service('healthy'), service('failed')], 'running')).toBe('degraded');
    expect(reduceStackState([service('starting'), service('blocked')], 'running')).toBe('degraded');
  });

  test('stopping while draining; stopped or failed when drained', () => {
    expect(reduceStackState([service('healthy')], 'draining')).toBe('stopping');
    expect(reduceStackState([service('stopped')], 'drained')).toBe('stopped');
    expect(reduceStackState([service('stopped'), service('failed')], 'drained')).toBe('failed');
  });
});

describe('isSettled', () => {
  test('waits for pending, starting and restarting services only', () => {
    expect(isSettled([service('healthy'), service('failed'), service('blocked'), service('completed')])).toBe(true);
    for (const state of ['pending', 'starting', 'restarting'] as const) {
      expect(isSettled([service('healthy'), service(state)])).toBe(false);
    }
  });
});

describe('planReload', () => {
  const service = (name: string, command: string[]) => ({ name, command }) as unknown as ServiceSpec;
  const stack = (services: ServiceSpec[]): StackSpec => ({
    name: 's',
    file: '/s.yaml',
    home: '/h',
    services: Object.fromEntries(services.map((s) => [s.name, s])),
  });

  test('sorts running services into removed, changed and unchanged, and finds the new ones', () => {
    const current = stack([service('a', ['a']), service('b', ['b']), service('c', ['c']), service('idle', ['i'])]);
    const next = stack([service('a', ['a']), service('b', ['b', '--new']), service('d', ['d']), service('idle', ['i'])]);
    const plan = planReload(current, next, ['c', 'b', 'a']);
    expect(plan).toEqual({ added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] });
    expect(isEmptyPlan(plan)).toBe(false);
    expect(isEmptyPlan(planReload(current, current, ['a', 'b']))).toBe(true);
  });
});
