// down and status act on a running stack by its name: a variable now unset, a broken or deleted stack
// file must not keep `down` from stopping what runs (issue: "down and status need only the stack's name").
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';

const CLI = resolve('bin/stackflow.js');
let STACK = '';
let env: Record<string, string> = {};

function stackflow(args: string[], extra: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], { reject: false, env: { ...env, ...extra } });
}

afterAll(async () => {
  // whatever a failed assertion left running
  if (env.STACKFLOW_HOME && existsSync(join(env.STACKFLOW_HOME, 'worker.pid'))) await stackflow(['down', '-p', STACK, '-c', '/nonexistent/stack.yaml']);
});

describe('down and status with only the stack name', () => {
  test('status and down work with an unset variable, a broken file and a deleted file; down stops everything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackflow-named-'));
    const file = join(dir, 'stack.yaml');
    // no `name:` in the file: the stack is named after its folder, as a compose project is
    STACK = basename(dir).toLowerCase();
    env = {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}`,
      STACKFLOW_HOME: join(dir, 'home'),
      NO_COLOR: '1',
    };
    const port = await findFreePort();
    await writeFile(file, ['services:', '  api:', `    command: [node, ${FIXTURE_SERVICE}]`, '    port: ${API_PORT}', ''].join('\n'));

    const up = await stackflow(['up', '-d', '-c', file], { API_PORT: String(port) });
    expect(up.stderr).toBe('');
    expect(up.exitCode).toBe(0);
    expect((await stackProcesses(STACK)).length).toBeGreaterThan(0);

    // API_PORT is not set for these: the full load fails, the name is still known
    const status = await stackflow(['status', '--json', '-c', file]);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).services.api.state).toBe('healthy');
    expect(status.stderr).toContain(`note: services.api.port: variable "API_PORT" is not set`);
    expect(status.stderr).toContain(`acting on stack "${STACK}" (from the folder name`);

    await writeFile(file, 'services:\n  api: [unclosed\n');
    const broken = await stackflow(['status', '--json', '-c', file]);
    expect(broken.exitCode).toBe(0);
    expect(JSON.parse(broken.stdout).state).toBe('running');

    const byName = await stackflow(['status', '--json', '-p', STACK, '-c', join(dir, 'missing.yaml')], { STACKFLOW_HOME: env.STACKFLOW_HOME! });
    expect(byName.exitCode).toBe(0);
    expect(byName.stderr).toBe('');
    expect(JSON.parse(byName.stdout).services.api.state).toBe('healthy');

    await rm(file);
    const down = await stackflow(['down', '-c', file]);
    expect(down.exitCode).toBe(0);
    expect(down.stderr).toContain('stack file not found');
    expect(down.stdout).toContain(`stack ${STACK} stopped`);
    expect(await stackProcesses(STACK)).toEqual([]);
    expect(existsSync(join(env.STACKFLOW_HOME!, 'worker.pid'))).toBe(false);
  });
});
