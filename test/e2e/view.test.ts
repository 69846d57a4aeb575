// The operator's view as a user sees it: `up` progress and startup timeline (plain and on a
// terminal), `status --watch`, and `logs -n/--since` over rotated files.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, mkdir, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';

const CLI = resolve('bin/stackflow.js');

interface Stack {
  file: string;
  name: string;
  env: Record<string, string>;
}
const stacks: Stack[] = [];

/** a (300ms) -> b (500ms) -> d; c (100ms) -> d: the critical chain is a -> b -> d. */
async function fixtureStack(): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-view-'));
  const name = `v${randomUUID().slice(0, 8)}`;
  const services: Record<string, unknown> = {};
  const shape: Record<string, { delay: number; deps: string[] }> = {
    a: { delay: 300, deps: [] },
    b: { delay: 500, deps: ['a'] },
    c: { delay: 100, deps: [] },
    d: { delay: 50, deps: ['b', 'c'] },
  };
  for (const [svc, { delay, deps }] of Object.entries(shape)) {
    const port = await findFreePort();
    services[svc] = {
      command: ['node', FIXTURE_SERVICE],
      port,
      env: { READY_DELAY_MS: String(delay) },
      health: { http: { url: `http://127.0.0.1:${port}/health` }, interval: '100ms' },
      depends_on: deps,
      shutdown: { timeout: '3s' },
    };
  }
  const file = join(dir, 'stack.yaml');
  await writeFile(file, YAML.stringify({ name, services }));
  const stack = {
    file,
    name,
    env: {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      STACKFLOW_TASK_QUEUE: `e2e-view-${randomUUID()}`,
      STACKFLOW_HOME: join(dir, 'home'),
      NO_COLOR: '1',
    },
  };
  stacks.push(stack);
  return stack;
}

function stackflow(stack: Stack, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args, '-c', stack.file], { reject: false, env: { ...stack.env, ...env } });
}

/** Resolves once the child's stdout contains `text` (or rejects with what it printed so far). */
function waitForOutput(child: ResultPromise, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${text}; output so far:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (typeof text === 'string' ? out.includes(text) : text.test(out)) {
        clearTimeout(timer);
        resolvePromise(out);
      }
    });
  });
}

afterAll(async () => {
  for (const stack of stacks) {
    if (existsSync(join(stack.env.STACKFLOW_HOME!, 'worker.pid'))) await stackflow(stack, ['down']);
  }
});

describe('foreground up without a terminal', () => {
  test('prints a plain line per state change, the timeline with the critical chain, then the prefixed logs; Ctrl-C drains', async () => {
    const stack = await fixtureStack();
    const up = execa(process.execPath, [CLI, 'up', '-c', stack.file], { reject: false, env: stack.env });
    const shown = await waitForOutput(up, /d +\| d listening/);
    up.kill('SIGINT');
    const result = await up;
    expect(result.exitCode).toBe(0);
    const out = result.stdout;
    expect(out).not.toContain('\x1b[');
    // One line per change, in order: d waits, then starts, then is healthy.
    expect(out).toMatch(/^ {2}d +pending +\+\S+ +waiting for b, c$/m);
    expect(out).toMatch(/^ {2}d +starting +\+\S+/m);
    expect(out).toMatch(/^ {2}d +healthy +\+\S+ +pid \d+$/m);
    expect(out.indexOf('  d  pending')).toBeLessThan(out.search(/^ {2}d +healthy/m));
    // The timeline: every service, spawn and ready relative to the first spawn; the chain a -> b -> d.
    expect(out).toMatch(/^startup timeline \(from the first spawn; total \S+\)$/m);
    for (const svc of ['a', 'b', 'c', 'd']) expect(out).toMatch(new RegExp(`^ {2}${svc} +\\+\\S+ +\\+\\S+ +\\S+ +.*█`, 'm'));
    const chain = /^critical chain (\S+): (.*)$/m.exec(out);
    expect(chain).not.toBeNull();
    expect(chain![2]!.split(' → ').map((step) => step.split(' ')[0])).toEqual(['a', 'b', 'd']);
    expect(shown).toContain('(Ctrl-C to stop)');
    expect(out.indexOf('critical chain')).toBeLessThan(out.indexOf('(Ctrl-C to stop)'));
    expect(out).toMatch(/^a +\| a listening on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toContain(`draining stack ${stack.name}`);
    expect(await stackProcesses(stack.name)).toEqual([]);
  });
});

describe('up on a terminal', () => {
  test('redraws the service lines in place (cursor up, clear line) and marks them done', async () => {
    const stack = await fixtureStack();
    // `script` gives the command a pseudo-terminal; colours on (NO_COLOR unset).
    const env: Record<string, string> = {
      ...stack.env,
      PATH: process.env.PATH!,
      HOME: process.env.HOME!,
      TERM: 'xterm-256color',
      // The run's key and no codec endpoint, as for every test (test/global-setup.ts).
      STACKFLOW_ENCRYPTION_KEY: process.env.STACKFLOW_ENCRYPTION_KEY!,
      STACKFLOW_CODEC_ENDPOINT: process.env.STACKFLOW_CODEC_ENDPOINT!,
    };
    delete env.NO_COLOR;
    const command = `stty cols 100 rows 30; ${process.execPath} ${CLI} up -d -c ${stack.file}`;
    const result = await execa('script', ['-qfec', command, '/dev/null'], { reject: false, env, extendEnv: false, timeout: 60_000 });
    expect(result.exitCode).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/\x1b\[4A\r\x1b\[2K/); // back up over the four service lines
    expect(out).toMatch(/✔\x1b\[0m \x1b\[1md\x1b\[0m +\x1b\[32mhealthy\x1b\[0m +\x1b\[2m +\+\S+\x1b\[0m +pid \d+/);
    expect(out).toContain('critical chain');
    expect((await stackflow(stack, ['down'])).exitCode).toBe(0);
  });
});

describe('status --watch and logs on a running stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await fixtureStack();
    const up = await stackflow(stack, ['up', '-d']);
    expect(up.exitCode).toBe(0);
  });
  afterAll(async () => {
    expect((await stackflow(stack, ['down'])).exitCode).toBe(0);
  });

  test('status --watch prints the table again every interval until Ctrl-C, then exits 0', async () => {
    const watch = execa(process.execPath, [CLI, 'status', '--watch', '--interval', '300ms', '-c', stack.file], { reject: false, env: stack.env });
    const header = `stack ${stack.name}: running`;
    await waitForOutput(watch, new RegExp(`${header}[\\s\\S]*${header}[\\s\\S]*${header}`));
    watch.kill('SIGINT');
    const result = await watch;
    expect(result.exitCode).toBe(0);
    const tables = result.stdout.split(header).length - 1;
    expect(tables).toBeGreaterThanOrEqual(3);
    expect(result.stdout).toMatch(/^SERVICE +STATE +HOST +PID +PORT +RESTARTS +UPTIME +CPU +MEM/m);
    expect(result.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T/m);
  });

  test('status --watch --json prints one status object per line', async () => {
    const watch = execa(process.execPath, [CLI, 'status', '--watch', '--json', '--interval', '300ms', '-c', stack.file], {
      reject: false,
      env: stack.env,
    });
    await waitForOutput(watch, /\n.*\n/);
    watch.kill('SIGINT');
    const result = await watch;
    expect(result.exitCode).toBe(0);
    const objects = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(objects.length).toBeGreaterThanOrEqual(2);
    for (const object of objects) {
      expect(object.stack).toBe(stack.name);
      expect(Object.keys(object.services).sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(object.services.a.memoryBytes).toBeGreaterThan(0);
    }
  });

  test('status --interval rejects a bad duration with exit 2', async () => {
    const result = await stackflow(stack, ['status', '--watch', '--interval', 'soon']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--interval');
  });

  test('logs -n and --since read the rotated files too, oldest first', async () => {
    const logs = join(stack.env.STACKFLOW_HOME!, stack.name, 'logs');
    await mkdir(logs, { recursive: true });
    const old = new Date(Date.now() - 2 * 3_600_000);
    await writeFile(join(logs, 'a.log.2'), 'rotated two\n');
    await utimes(join(logs, 'a.log.2'), old, old);
    await writeFile(join(logs, 'a.log.1'), 'rotated one\n');

    const all = await stackflow(stack, ['logs', 'a']);
    expect(all.exitCode).toBe(0);
    const lines = all.stdout.split('\n');
    expect(lines[0]).toBe('a | rotated two');
    expect(lines[1]).toBe('a | rotated one');
    // The current file: the supervisor's run boundary, then the service's own lines.
    expect(lines[2]).toMatch(/^a \| — run 1: node /);
    expect(lines[3]).toMatch(/^a \| a listening on/);

    const last = await stackflow(stack, ['logs', 'a', '-n', '3']);
    expect(last.stdout.split('\n')).toEqual(['a | rotated one', expect.stringMatching(/^a \| — run 1/), expect.stringMatching(/^a \| a listening on/)]);

    const recent = await stackflow(stack, ['logs', 'a', '--since', '1h']);
    expect(recent.stdout).not.toContain('rotated two');
    expect(recent.stdout).toContain('rotated one');

    const bad = await stackflow(stack, ['logs', '--since', 'yesterday']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--since');
  });
});
