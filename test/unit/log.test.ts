// The worker log's rules without a worker: the level a setting gives, where each SDK line goes,
// core's forwarding filter, the hold-back of core's repeated warnings, and the SDK adapter writing
// through a real pino logger.
import { describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { GateSuperseded } from '../../src/host/readiness-bus.js';
import { coreLogFilter, createWorkerLogger, RepeatLimiter, repeatKey, sdkLoggerFor, sdkLogLevel } from '../../src/log.js';
import { logLevelFrom, type LogLevel } from '../../src/log-level.js';
import { InvalidSettingError } from '../../src/temporal/errors.js';

/** The worker's logger at `level`, its JSON lines parsed into `lines`. */
function memoryLogger(level: LogLevel) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createWorkerLogger(level, stream), lines };
}

describe('logLevelFrom', () => {
  test('info by default, debug when debugging was asked for, STACKFLOW_LOG_LEVEL (any case) over both', () => {
    expect(logLevelFrom({}, false)).toBe('info');
    expect(logLevelFrom({}, true)).toBe('debug');
    expect(logLevelFrom({ STACKFLOW_LOG_LEVEL: 'WARN' }, true)).toBe('warn');
    expect(logLevelFrom({ STACKFLOW_LOG_LEVEL: 'trace' }, false)).toBe('trace');
    expect(logLevelFrom({ STACKFLOW_LOG_LEVEL: '' }, false)).toBe('info');
  });

  test('another value is a setting error naming the variable and the accepted levels', () => {
    expect(() => logLevelFrom({ STACKFLOW_LOG_LEVEL: 'verbose' }, false)).toThrow(InvalidSettingError);
    expect(() => logLevelFrom({ STACKFLOW_LOG_LEVEL: 'verbose' }, false)).toThrow(
      'STACKFLOW_LOG_LEVEL: expected one of trace, debug, info, warn, error, got "verbose"',
    );
  });
});

describe('sdkLogLevel', () => {
  const worker = { sdkComponent: 'worker' };
  const core = { sdkComponent: 'core' };

  test("the SDK's worker-lifecycle lines and its notes for SDK developers go to debug", () => {
    expect(sdkLogLevel('INFO', 'Worker state changed', worker)).toBe('debug');
    expect(sdkLogLevel('INFO', 'No Nexus services registered, not polling for Nexus tasks', worker)).toBe('debug');
    expect(sdkLogLevel('WARN', 'No activities registered, not polling for activity tasks', worker)).toBe('debug');
    expect(sdkLogLevel('WARN', 'No workflows registered, not polling for workflow tasks', worker)).toBe('debug');
  });

  test('a gated spawn superseded by the stack workflow is routine: its "Activity failed" goes to debug', () => {
    expect(sdkLogLevel('WARN', 'Activity failed', { sdkComponent: 'worker', error: new GateSuperseded('compute') })).toBe('debug');
  });

  test("core's routine lines go down a level; its warnings and errors keep theirs", () => {
    expect(sdkLogLevel('INFO', 'Initializing worker', core)).toBe('debug');
    expect(sdkLogLevel('DEBUG', 'anything', core)).toBe('trace');
    expect(sdkLogLevel('TRACE', 'anything', core)).toBe('trace');
    expect(sdkLogLevel('WARN', 'gRPC call poll_workflow_task_queue retried 7 times', core)).toBe('warn');
    expect(sdkLogLevel('ERROR', 'anything', core)).toBe('error');
  });

  test("other worker warnings, activity and workflow lines, and lines without a component keep their level", () => {
    expect(sdkLogLevel('WARN', 'Failed to encode heartbeat details, cancelling Activity', worker)).toBe('warn');
    expect(sdkLogLevel('ERROR', 'Worker failed', worker)).toBe('error');
    expect(sdkLogLevel('WARN', 'Activity failed', { sdkComponent: 'activity' })).toBe('warn');
    expect(sdkLogLevel('WARN', 'Activity failed', { sdkComponent: 'worker', error: new Error('exit 1') })).toBe('warn');
    expect(sdkLogLevel('INFO', 'web: watching src for changes', { sdkComponent: 'activity' })).toBe('info');
    expect(sdkLogLevel('INFO', 'Workflow completed', { sdkComponent: 'workflow' })).toBe('info');
    expect(sdkLogLevel('INFO', 'no meta')).toBe('info');
  });
});

describe('coreLogFilter', () => {
  test("follows the chosen level: core sends only what the logger will show after sdkLogLevel's mapping", () => {
    expect(coreLogFilter('trace')).toBe('TRACE');
    expect(coreLogFilter('debug')).toBe('INFO');
    expect(coreLogFilter('info')).toBe('WARN');
    expect(coreLogFilter('warn')).toBe('WARN');
    expect(coreLogFilter('error')).toBe('ERROR');
  });
});

describe('RepeatLimiter', () => {
  test('writes the first, holds back repeats for the window, then writes one with the count held back', () => {
    let now = 0;
    const limiter = new RepeatLimiter(1000, () => now);
    expect(limiter.admit('a')).toEqual({ repeated: 0 });
    now = 400;
    expect(limiter.admit('a')).toBeNull();
    expect(limiter.admit('b')).toEqual({ repeated: 0 });
    now = 999;
    expect(limiter.admit('a')).toBeNull();
    now = 1000;
    expect(limiter.admit('a')).toEqual({ repeated: 2 });
    now = 2500;
    expect(limiter.admit('a')).toEqual({ repeated: 0 });
  });

  test("core's retry lines differing only in their numbers are repeats of each other", () => {
    expect(repeatKey('warn', 'gRPC call poll_workflow_task_queue retried 7 times')).toBe(
      repeatKey('warn', 'gRPC call poll_workflow_task_queue retried 12 times'),
    );
    expect(repeatKey('warn', 'gRPC call poll_workflow_task_queue retried 7 times')).not.toBe(
      repeatKey('warn', 'gRPC call poll_activity_task_queue retried 7 times'),
    );
  });
});

describe('sdkLoggerFor', () => {
  test('writes each SDK entry at its mapped level with its metadata as fields, symbol keys left out', () => {
    const { logger, lines } = memoryLogger('debug');
    const sdk = sdkLoggerFor(logger);
    sdk.warn('No activities registered, not polling for activity tasks', { sdkComponent: 'worker', taskQueue: 'q', [Symbol('t')]: 1n });
    sdk.log('WARN', 'Activity failed', { sdkComponent: 'activity', activityType: 'superviseService', error: new Error('exited 1') });
    sdk.trace('Got activity task', { sdkComponent: 'worker' });
    expect(lines).toEqual([
      expect.objectContaining({ level: 20, msg: 'No activities registered, not polling for activity tasks', sdkComponent: 'worker', taskQueue: 'q' }),
      expect.objectContaining({
        level: 40,
        msg: 'Activity failed',
        activityType: 'superviseService',
        error: expect.objectContaining({ type: 'Error', message: 'exited 1', stack: expect.any(String) }),
      }),
    ]);
  });

  test('at info, the lifecycle lines are not written at all', () => {
    const { logger, lines } = memoryLogger('info');
    const sdk = sdkLoggerFor(logger);
    sdk.info('Worker state changed', { sdkComponent: 'worker', state: 'RUNNING' });
    sdk.warn('No activities registered, not polling for activity tasks', { sdkComponent: 'worker' });
    sdk.info('Initializing worker', { sdkComponent: 'core' });
    expect(lines).toEqual([]);
  });

  test("core's repeated warnings are held back and the next one written says how many were", () => {
    const { logger, lines } = memoryLogger('info');
    let now = 0;
    const sdk = sdkLoggerFor(logger, new RepeatLimiter(30_000, () => now));
    for (let attempt = 6; attempt < 10; attempt++) {
      sdk.warn(`gRPC call poll_workflow_task_queue retried ${attempt} times`, { sdkComponent: 'core' });
      now += 5_000;
    }
    sdk.warn('Activity failed', { sdkComponent: 'activity' });
    sdk.warn('Activity failed', { sdkComponent: 'activity' });
    now = 30_000;
    sdk.warn('gRPC call poll_workflow_task_queue retried 11 times', { sdkComponent: 'core' });
    expect(lines.map(({ msg, repeated }) => ({ msg, repeated }))).toEqual([
      { msg: 'gRPC call poll_workflow_task_queue retried 6 times', repeated: undefined },
      { msg: 'Activity failed', repeated: undefined },
      { msg: 'Activity failed', repeated: undefined },
      { msg: 'gRPC call poll_workflow_task_queue retried 11 times', repeated: 3 },
    ]);
  });
});
