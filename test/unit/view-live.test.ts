// The startup view on a stream: redrawn in place on a terminal, one plain line per change elsewhere.
import { describe, expect, it } from '@jest/globals';
import type { ServiceStatus, StackStatus } from '../../src/model.js';
import { isLiveTerminal, StartupView } from '../../src/cli/view/live.js';
import { emptyServiceStatus } from '../../src/lifecycle/status.js';

const UP = 1_750_000_000_000;

function svc(state: ServiceStatus['state'], extra: Partial<ServiceStatus> = {}): ServiceStatus {
  return { ...emptyServiceStatus('local', undefined), state, ...extra };
}
const stack = (services: Record<string, ServiceStatus>): StackStatus => ({ stack: 'demo', state: 'starting', services });

/** Enough of a terminal to replay what the view writes: lines, cursor up, carriage return, clears. */
function terminal() {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  const write = (chunk: string) => {
    for (let i = 0; i < chunk.length; ) {
      const escape = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(chunk.slice(i));
      if (escape) {
        const [all, arg, code] = escape;
        if (code === 'A') row = Math.max(0, row - Number(arg || 1));
        else if (code === 'K') screen[row] = '';
        else if (code === 'J') screen.splice(row + 1), (screen[row] = screen[row]!.slice(0, col));
        i += all.length;
        continue;
      }
      const ch = chunk[i++]!;
      if (ch === '\n') {
        row++;
        col = 0;
        if (screen.length <= row) screen.push('');
      } else if (ch === '\r') col = 0;
      else {
        const line = screen[row]!.padEnd(col);
        screen[row] = line.slice(0, col) + ch + line.slice(col + 1);
        col++;
      }
    }
  };
  return { screen, write, written: [] as string[] };
}

function view(live: boolean, now: { t: number }) {
  const term = terminal();
  const writes: string[] = [];
  const stream = {
    isTTY: live,
    columns: 100,
    write: (chunk: string) => {
      writes.push(chunk);
      term.write(chunk);
      return true;
    },
  };
  const v = new StartupView({ stream, services: ['db', 'api'], deps: { db: [], api: ['db'] }, upStartedAt: UP, live, color: false, now: () => now.t });
  return { v, term, writes };
}

describe('StartupView on a terminal', () => {
  it('redraws the same lines in place: the screen always holds one line per service', () => {
    const now = { t: UP };
    const { v, term, writes } = view(true, now);
    v.start();
    expect(term.screen.filter(Boolean)).toHaveLength(2);
    now.t += 300;
    v.update(stack({ db: svc('starting', { pid: 10 }) }));
    now.t += 300;
    v.update(stack({ db: svc('healthy', { pid: 10, healthyAt: new Date(UP + 550).toISOString() }), api: svc('starting', { pid: 11 }) }));
    now.t += 400;
    v.update(stack({ db: svc('healthy', { pid: 10, healthyAt: new Date(UP + 550).toISOString() }), api: svc('healthy', { pid: 11, healthyAt: new Date(UP + 990).toISOString() }) }));
    v.finish();
    const lines = term.screen.filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✔ db\s+healthy\s+\+550ms\s+pid 10$/);
    expect(lines[1]).toMatch(/^✔ api\s+healthy\s+\+990ms\s+pid 11$/);
    expect(writes.some((w) => w.includes('\x1b[2A'))).toBe(true);
  });

  it('redraws for the clock alone at most every 100ms, and at once on a state change', () => {
    const now = { t: UP };
    const { v, writes } = view(true, now);
    v.start();
    const same = stack({ db: svc('starting') });
    v.update(same);
    const afterChange = writes.length;
    for (let i = 0; i < 5; i++) {
      now.t += 20;
      v.update(same);
    }
    expect(writes.length).toBe(afterChange + 1);
    v.finish();
    const count = writes.length;
    v.update(stack({ db: svc('healthy') }));
    expect(writes.length).toBe(count);
  });
});

describe('StartupView without a terminal', () => {
  it('prints one plain line per state or restart change, nothing when nothing changed', () => {
    const now = { t: UP };
    const { v, writes } = view(false, now);
    v.start();
    expect(writes).toEqual([]);
    now.t += 100;
    v.update(stack({ db: svc('starting') }));
    v.update(stack({ db: svc('starting') }));
    now.t += 100;
    v.update(stack({ db: svc('restarting', { restarts: 1 }) }));
    now.t += 400;
    v.update(stack({ db: svc('healthy', { pid: 9, restarts: 1, healthyAt: new Date(UP + 550).toISOString() }), api: svc('pending') }));
    v.finish();
    expect(writes.join('')).toBe(
      [
        '  db   starting      +100ms',
        '  db   restarting    +200ms  restarts 1',
        '  db   healthy       +550ms  pid 9  restarts 1',
        '  api  pending       +600ms',
        '',
      ].join('\n'),
    );
  });
});

describe('isLiveTerminal', () => {
  it('needs a TTY, no NO_COLOR and a terminal that is not dumb', () => {
    expect(isLiveTerminal({ isTTY: true, write: () => true }, { TERM: 'xterm' })).toBe(true);
    expect(isLiveTerminal({ isTTY: false, write: () => true }, {})).toBe(false);
    expect(isLiveTerminal({ isTTY: true, write: () => true }, { NO_COLOR: '' })).toBe(false);
    expect(isLiveTerminal({ isTTY: true, write: () => true }, { TERM: 'dumb' })).toBe(false);
  });
});
