// The CLI as a user runs it, on the example stack: validate, bad input, up -d, status --json, down.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { stackProcesses } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';

const CLI = resolve('bin/stackflow.js');
const EXAMPLE = resolve('stack.yaml');
const homes: string[] = [];

async function stackflow(args: string[], env: Record<string, string> = {}) {
  const home = env.STACKFLOW_HOME ?? (await mkdtemp(join(tmpdir(), 'stackflow-e2e-')));
  homes.push(home);
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}`,
      NO_COLOR: '1',
      ...env,
      STACKFLOW_HOME: home,
    },
  });
}

afterAll(async () => {
  // Whatever a failed assertion left behind: drain it so no process outlives the test run.
  for (const home of homes) {
    if (existsSync(join(home, 'worker.pid'))) await stackflow(['down', '-c', EXAMPLE], { STACKFLOW_HOME: home });
  }
});

describe('stackflow validate', () => {
  test('prints the start order of the example stack as levels', async () => {
    const result = await stackflow(['validate', '-c', EXAMPLE]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('1. data, user');
    expect(result.stdout).toContain('2. ai, compute, viz');
    expect(result.stdout).toContain('3. api_gateway');
    expect(result.stdout).toContain('legacy_flask');
  });

  test('rejects a bad stack file with one line per problem, exit 2, and starts nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackflow-bad-'));
    const file = join(dir, 'stack.yaml');
    const port = await findFreePort();
    await writeFile(
      file,
      [
        'name: bad',
        'services:',
        '  data:',
        `    command: [node, ${resolve('test/fixtures/service.mjs')}]`,
        `    port: ${port}`,
        '  api:',
        '    command: [node, api.js]',
        '    depends_on: [dta]',
        '  web:',
        '    comand: [node, web.js]',
      ].join('\n'),
    );
    const home = join(dir, 'home');
    for (const command of ['validate', 'up']) {
      const result = await stackflow([command, '-c', file, ...(command === 'up' ? ['-d'] : [])], { STACKFLOW_HOME: home });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('services.web.comand: unknown key "comand" (did you mean "command"?)');
      expect(result.stderr).toContain('services.api.depends_on.dta: unknown service "dta" (did you mean "data"?)');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(home, 'bad'))).toBe(false);
    expect(await stackProcesses('bad')).toEqual([]);
  });

  test('exits 3 naming the address when TEMPORAL_ADDRESS points at no server', async () => {
    const address = `127.0.0.1:${await findFreePort()}`;
    const result = await stackflow(['status', '-c', EXAMPLE], { TEMPORAL_ADDRESS: address });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain(address);
  });
});

describe('stackflow up -d / status / down on the example stack', () => {
  test('brings the stack up healthy, reports it, and drains it leaving no process behind', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stackflow-e2e-'));
    const env = { STACKFLOW_HOME: home, STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}` };
    const up = await stackflow(['up', '-d', '-c', EXAMPLE], env);
    expect(up.stderr).toBe('');
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain('stack demo is up');
    expect(existsSync(join(home, 'worker.pid'))).toBe(true);

    const status = await stackflow(['status', '--json', '-c', EXAMPLE], env);
    expect(status.exitCode).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.state).toBe('running');
    expect(Object.keys(parsed.services).sort()).toEqual(['ai', 'api_gateway', 'compute', 'data', 'user', 'viz']);
    for (const service of Object.values<Record<string, unknown>>(parsed.services)) {
      expect(service.state).toBe('healthy');
      expect(service.pid).toEqual(expect.any(Number));
      expect(service.memoryBytes).toBeGreaterThan(0);
    }
    const gateway = (await fetch('http://127.0.0.1:8000/').then((r) => r.json())) as { status: string };
    expect(gateway.status).toBe('ok');
    // Each service's log, and beside it the index of its lines' times (logs -t, --since).
    expect((await readdir(join(home, 'demo', 'logs'))).filter((f) => f.endsWith('.log')).sort()).toEqual(
      ['ai', 'api_gateway', 'compute', 'data', 'user', 'viz'].map((s) => `${s}.log`),
    );

    const down = await stackflow(['down', '-c', EXAMPLE], env);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain('stack demo stopped');
    expect(await stackProcesses('demo')).toEqual([]);
    expect(existsSync(join(home, 'worker.pid'))).toBe(false);
  });
});
