// The startup view model (pure): state -> one line per service.
import { describe, expect, it } from '@jest/globals';
import type { ServiceStatus } from '../../src/model.js';
import { elapsedText, serviceLines, type StartupViewInput } from '../../src/cli/view/service-lines.js';
import { frame } from '../../src/cli/view/redraw.js';
import { serviceErrorText, truncateVisible, visibleLength } from '../../src/cli/output.js';
import { emptyServiceStatus } from '../../src/lifecycle/status.js';

const UP = Date.parse('2025-06-01T12:00:00.000Z');
const iso = (ms: number) => new Date(UP + ms).toISOString();

function svc(state: ServiceStatus['state'], extra: Partial<ServiceStatus> = {}): ServiceStatus {
  return { ...emptyServiceStatus('local', undefined), state, ...extra };
}

function input(over: Partial<StartupViewInput>): StartupViewInput {
  return {
    services: ['data', 'ai', 'api_gateway'],
    status: {},
    stateSince: {},
    upStartedAt: UP,
    now: UP + 1500,
    deps: { data: [], ai: ['data'], api_gateway: ['data', 'ai'] },
    color: false,
    live: false,
    ...over,
  };
}

describe('serviceLines', () => {
  it('shows every service, pending ones with what they wait for, names aligned', () => {
    const lines = serviceLines(input({ status: { data: svc('starting', { pid: 41, startedAt: iso(10) }) } }));
    expect(lines).toEqual([
      '  data         starting       +1.5s  pid 41',
      '  ai           pending        +1.5s  waiting for data',
      '  api_gateway  pending        +1.5s  waiting for data, ai',
    ]);
  });

  it('stops the clock of a healthy service at its healthyAt, and of failed/blocked ones when first seen', () => {
    const lines = serviceLines(
      input({
        now: UP + 9000,
        status: {
          data: svc('healthy', { pid: 41, startedAt: iso(10), healthyAt: iso(420) }),
          ai: svc('failed', { restarts: 5, error: 'ai: exited with code 1\nlast lines…' }),
          api_gateway: svc('blocked', { error: 'dependency ai failed' }),
        },
        stateSince: { ai: UP + 4000, api_gateway: UP + 4100 },
      }),
    );
    expect(lines).toEqual([
      '  data         healthy       +420ms  pid 41',
      '  ai           failed         +4.0s  restarts 5  ai: exited with code 1',
      '  api_gateway  blocked        +4.1s  dependency ai failed',
    ]);
  });

  it('keeps the clock running while a service restarts, with its count and reason', () => {
    const [, ai] = serviceLines(
      input({ now: UP + 3200, status: { ai: svc('restarting', { restarts: 2, error: 'health timeout' }) }, stateSince: { ai: UP + 100 } }),
    );
    expect(ai).toBe('  ai           restarting     +3.2s  restarts 2  health timeout');
  });

  it('shows the uptime of a service that was healthy before this `up` began', () => {
    const status = svc('healthy', { pid: 7, startedAt: iso(-125_000), healthyAt: iso(-124_000) });
    expect(elapsedText(status, UP, { upStartedAt: UP, now: UP + 5000 })).toBe('up 2m10s');
    const [data] = serviceLines(input({ status: { data: status } }));
    expect(data).toBe('  data         healthy      up 2m6s  pid 7');
  });

  it('marks states and animates a spinner on a live terminal, with colours', () => {
    const base = input({
      live: true,
      color: true,
      status: { data: svc('healthy', { healthyAt: iso(100) }), ai: svc('starting'), api_gateway: svc('failed') },
    });
    const [data, ai, gw] = serviceLines(base);
    expect(data.startsWith('\x1b[32m✔\x1b[0m ')).toBe(true);
    expect(gw.startsWith('\x1b[31m✘\x1b[0m ')).toBe(true);
    expect(ai).toContain('\x1b[1mai\x1b[0m');
    const [, aiLater] = serviceLines({ ...base, now: base.now + 80 });
    expect(aiLater.slice(0, 12)).not.toBe(ai.slice(0, 12));
    // Colour codes do not disturb the alignment.
    const plain = serviceLines({ ...base, color: false });
    expect(serviceLines(base).map(visibleLength)).toEqual(plain.map(visibleLength));
  });

  it('is plain text without colour', () => {
    const lines = serviceLines(input({ status: { data: svc('healthy', { healthyAt: iso(1) }) } }));
    expect(lines.join('')).not.toContain('\x1b');
  });
});

describe('redraw frame', () => {
  it('moves up over the previous frame, clears each line, and cuts lines to the terminal width', () => {
    const first = frame(['a', 'b'], 0, 80);
    expect(first).toBe('\x1b[2Ka\n\x1b[2Kb\n\x1b[J');
    const next = frame(['a'.repeat(100)], 2, 40);
    expect(next.startsWith('\x1b[2A\r\x1b[2K')).toBe(true);
    expect(next).toContain('\x1b[2K' + 'a'.repeat(39) + '\n');
  });

  it('truncates by visible characters and closes an open colour', () => {
    expect(truncateVisible('\x1b[32mhealthy\x1b[0m pid 1', 4)).toBe('\x1b[32mheal\x1b[0m');
    expect(truncateVisible('✔ data', 3)).toBe('✔ d');
    expect(truncateVisible('short', 10)).toBe('short');
  });
});

describe('serviceErrorText', () => {
  it('names the service once, whether or not the error already does', () => {
    expect(serviceErrorText('flaky', 'flaky did not become healthy again: it is failed')).toBe('flaky did not become healthy again: it is failed');
    expect(serviceErrorText('flaky', 'flaky: exited with code 1 during start', 'failed')).toBe('flaky: failed: exited with code 1 during start');
    expect(serviceErrorText('api', 'gave up after 2 restarts', 'failed')).toBe('api: failed: gave up after 2 restarts');
  });

  it('prints a multi-line error as indented lines, each escaped on its own', () => {
    const error = 'crashy: exited with code 1 during start (command: node x.mjs)\n  last log lines:\n  | boom\u001b[31m';
    expect(serviceErrorText('crashy', error, 'failed').split('\n')).toEqual([
      'crashy: failed: exited with code 1 during start (command: node x.mjs)',
      '  last log lines:',
      '  | boom\\u001b[31m',
    ]);
  });
});
