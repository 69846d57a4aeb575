// The stack workflow's record of its services (src/lifecycle/stack-state.ts), without Temporal.
import { describe, expect, test } from '@jest/globals';
import { StackState } from '../../src/lifecycle/stack-state.js';
import type { ServiceState, StackSpec } from '../../src/model.js';
import type { ServiceReport } from '../../src/workflows/definitions.js';
import { serviceSpec } from '../fixtures/proc/helpers.js';

const NOW = 1_000_000;

/** db ← api (api depends on db healthy), and job on its own. */
function spec(): StackSpec {
  return {
    name: 'shop',
    file: '/tmp/shop/stackflow.yaml',
    home: '/tmp/home',
    services: {
      db: serviceSpec('db', ['db'], { port: 5432 }),
      api: serviceSpec('api', ['api'], { dependsOn: { db: { condition: 'healthy' } } }),
      job: serviceSpec('job', ['job']),
    },
  };
}

/** A stack that wants every service and launched `launched` (started, ungated). */
function running(...launched: string[]): StackState {
  const state = new StackState(spec());
  state.want(['api', 'job'], NOW);
  for (const name of launched) state.markStarted(name, state.launch(name, false, NOW));
  return state;
}

const report = (service: string, seq: number, state: ServiceState, more: Partial<ServiceReport> = {}): ServiceReport => ({ service, seq, state, ...more });

describe('StackState', () => {
  test('want adds the services with their dependencies as pending, once; answers with the added ones', () => {
    const state = new StackState(spec());
    expect(state.want(['api'], NOW)).toEqual(['db', 'api']);
    expect(state.want(['api', 'job'], NOW + 5)).toEqual(['job']);
    expect(state.names()).toEqual(['db', 'api', 'job']);
    expect(state.slot('db')).toEqual({ status: expect.objectContaining({ state: 'pending', port: 5432, host: 'local' }), wantedSince: NOW });
    expect(state.slot('job')?.wantedSince).toBe(NOW + 5);
  });

  test('launch: an ungated run is starting, a gated one stays pending; each launch gets the next number', () => {
    const state = running();
    expect(state.launch('db', false, NOW + 1)).toBe(1);
    expect(state.launch('api', true, NOW + 2)).toBe(2);
    expect(state.status('db').state).toBe('starting');
    expect(state.status('api').state).toBe('pending');
    expect(state.slot('api')).toMatchObject({ launchedAt: NOW + 2, run: { n: 2, gated: true, started: false, finished: false } });
  });

  describe('applyReport', () => {
    test.each<[string, ServiceReport[], { state: ServiceState; pid: number | null; lastSeq: number }]>([
      ['applies reports in sequence', [report('db', 1, 'starting', { pid: 7 }), report('db', 2, 'healthy')], { state: 'healthy', pid: 7, lastSeq: 2 }],
      ['ignores a report that an older one overtook', [report('db', 2, 'healthy', { pid: 7 }), report('db', 1, 'starting', { pid: 6 })], { state: 'healthy', pid: 7, lastSeq: 2 }],
      ['ignores a repeated sequence number', [report('db', 1, 'starting', { pid: 7 }), report('db', 1, 'healthy', { pid: 8 })], { state: 'starting', pid: 7, lastSeq: 1 }],
      ['settles the run with the last report and ignores what follows', [report('db', 1, 'failed', { error: 'boom', restarts: 3 }), report('db', 2, 'healthy', { pid: 9 })], { state: 'failed', pid: null, lastSeq: 1 }],
    ])('%s', (_what, reports, expected) => {
      const state = running('db');
      for (const r of reports) state.applyReport(r);
      expect(state.status('db')).toMatchObject({ state: expected.state, pid: expected.pid });
      expect(state.slot('db')?.run?.lastSeq).toBe(expected.lastSeq);
    });

    test('a report for a service not launched, or not in the stack, changes nothing', () => {
      const state = running();
      const before = state.version;
      state.applyReport(report('db', 1, 'healthy'));
      state.applyReport(report('nope', 1, 'healthy'));
      expect(state.status('db').state).toBe('pending');
      expect(state.version).toBe(before);
    });

    test('the first report puts a gated run behind its gate and ends its release grace', () => {
      const state = running();
      state.launch('api', true, NOW);
      state.markMet('api', NOW + 1);
      state.applyReport(report('api', 1, 'starting', { pid: 4 }));
      expect(state.slot('api')?.run).toMatchObject({ gated: false });
      expect(state.slot('api')?.run?.metSince).toBeUndefined();
    });
  });

  describe('settle', () => {
    const stopped = { state: 'stopped', restarts: 0, lastExit: null, error: null } as const;
    /** Each case launches `job` and answers with the launch number whose result then arrives. */
    test.each<[string, (state: StackState) => number, ServiceState]>([
      ['the result of the current run settles it', (state) => state.launch('job', false, NOW), 'completed'],
      [
        'the late result of an earlier run cannot settle the relaunched one',
        (state) => {
          const first = state.launch('job', false, NOW);
          state.settle('job', stopped, first);
          state.relaunchLater('job', NOW + 1);
          state.launch('job', false, NOW + 2);
          return first;
        },
        'starting',
      ],
      [
        'nor a service waiting to be relaunched',
        (state) => {
          const first = state.launch('job', false, NOW);
          state.settle('job', stopped, first);
          state.relaunchLater('job', NOW + 1);
          return first;
        },
        'pending',
      ],
    ])('%s', (_what, launches, expected) => {
      const state = running();
      const n = launches(state);
      state.settle('job', { state: 'completed', restarts: 0, lastExit: null, error: null }, n);
      expect(state.status('job').state).toBe(expected);
    });

    test('settles once: a later outcome does not overwrite the first', () => {
      const state = running('db');
      state.settle('db', { state: 'failed', restarts: 2, lastExit: null, error: 'exited 1' });
      state.settle('db', { state: 'stopped', restarts: 0, lastExit: null, error: null });
      expect(state.status('db')).toMatchObject({ state: 'failed', restarts: 2, error: 'exited 1' });
    });

    test('a blocked service told to give up stays blocked with its reason', () => {
      const state = running('api');
      state.block('api', 'needs db healthy, but it is failed');
      state.settle('api', { state: 'stopped', restarts: 0, lastExit: null, error: 'stopped on request' });
      expect(state.status('api')).toMatchObject({ state: 'blocked', error: 'needs db healthy, but it is failed' });
      expect(state.slot('api')?.run?.finished).toBe(true);
    });
  });

  test('relaunchLater: pending again, crash restarts and last exit kept, one manual restart counted, launch time kept', () => {
    const state = running('db');
    const lastExit = { code: 1, signal: null, at: '2026-01-01T00:00:00.000Z' };
    state.applyReport(report('db', 1, 'healthy', { pid: 7, restarts: 2 }));
    state.settle('db', { state: 'stopped', restarts: 2, lastExit, error: null });
    state.relaunchLater('db', NOW + 50);
    expect(state.slot('db')).toEqual({
      status: expect.objectContaining({ state: 'pending', pid: null, restarts: 2, manualRestarts: 1, lastExit, port: 5432 }),
      wantedSince: NOW + 50,
      launchedAt: NOW,
    });
    expect(state.isRunning('db')).toBe(false);
  });

  test('startServices relaunches what ended stopped, wants what is new, and leaves a failed one alone', () => {
    const state = running('db', 'job');
    state.settle('db', { state: 'stopped', restarts: 0, lastExit: null, error: null });
    state.settle('job', { state: 'failed', restarts: 0, lastExit: null, error: 'exited 1' });
    state.forget('api');
    expect(state.startServices(['api', 'job'], spec(), NOW)).toEqual(['db', 'api']);
    expect(state.status('db').state).toBe('pending');
    expect(state.status('job').state).toBe('failed');
  });

  test('takeBlockedAtGate names a blocked run waiting at its gate once, and only once it has started', () => {
    const state = running();
    const n = state.launch('api', true, NOW);
    state.block('api', 'needs db healthy, but it is failed');
    expect(state.takeBlockedAtGate()).toEqual([]);
    state.markStarted('api', n);
    expect(state.takeBlockedAtGate()).toEqual(['api']);
    expect(state.takeBlockedAtGate()).toEqual([]);
  });

  test('markKilled marks the runs still going and answers with those that can be signalled', () => {
    const state = running('db');
    state.launch('api', true, NOW);
    state.launch('job', false, NOW);
    state.settle('job', { state: 'completed', restarts: 0, lastExit: null, error: null });
    expect(state.markKilled(['db', 'api', 'job'], 'drain budget spent: killed')).toEqual(['db']);
    expect(state.status('api').error).toBe('drain budget spent: killed');
    expect(state.status('job').error).toBeNull();
  });

  test('carry and restore: a continued run sees the same slots, and its launches keep counting up', () => {
    const state = running('db');
    const api = state.launch('api', true, NOW + 3);
    state.markStarted('api', api);
    state.markMet('api', NOW + 4);
    state.applyReport(report('db', 4, 'healthy', { pid: 11 }));
    state.shutdown(); // the phase is not carried: a continued run is running
    const restored = new StackState(spec(), JSON.parse(JSON.stringify(state.carry())));
    expect(restored.slots).toEqual(JSON.parse(JSON.stringify(state.slots)));
    expect(restored.phase).toBe('running');
    restored.applyReport(report('db', 3, 'starting'));
    expect(restored.status('db').state).toBe('healthy');
    restored.relaunchLater('job', NOW + 5);
    expect(restored.launch('job', false, NOW + 5)).toBe(api + 1);
  });

  test('carried under a name like a built-in property, a service is data like any other', () => {
    const state = new StackState({ ...spec(), services: { constructor: serviceSpec('constructor', ['x']) } });
    state.want(['constructor'], NOW);
    const restored = new StackState(state.stack, JSON.parse(JSON.stringify(state.carry())));
    expect(restored.names()).toEqual(['constructor']);
    expect(restored.slot('toString')).toBeUndefined();
  });

  test('the snapshot reduces the states with the phase', () => {
    const state = running('db');
    state.applyReport(report('db', 1, 'failed'));
    expect(state.snapshot()).toMatchObject({ stack: 'shop', state: 'degraded', services: { db: { state: 'failed' } } });
    state.shutdown(500);
    expect(state.snapshot().state).toBe('stopping');
    expect(state.drainBudgetMs).toBe(500);
  });
});
