// Start-up cost of the CLI: a command loads only what it runs (src/cli/main.ts imports each
// command's module when that command runs). The timings themselves belong in `npm run bench`.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const CLI = resolve('bin/stackflow.js');
const RECORDER = resolve('test/support/record-imports.mjs');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stackflow-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI and returns the URLs of the ES modules it resolved. */
let runs = 0;
async function resolvedModules(args: string[]): Promise<string[]> {
  const file = join(dir, `run-${++runs}.txt`);
  const result = await execa(process.execPath, ['--import', RECORDER, CLI, ...args], {
    reject: false,
    env: { RECORD_IMPORTS_FILE: file, NO_COLOR: '1' },
  });
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
  return (await readFile(file, 'utf8')).trim().split('\n');
}

const from = (modules: string[], pattern: RegExp) => modules.filter((url) => pattern.test(url));

describe('CLI start-up', () => {
  test('--help loads commander and the CLI shell only: no Temporal SDK, yaml, zod or execa', async () => {
    const modules = await resolvedModules(['--help']);
    expect(from(modules, /commander/).length).toBeGreaterThan(0);
    expect(from(modules, /node_modules\/(@temporalio|yaml|zod|execa)\//)).toEqual([]);
    expect(from(modules, /dist\/src\/cli\/commands\//)).toEqual([]);
  });

  test('validate loads the stack-file parser but no Temporal SDK and no execa', async () => {
    const modules = await resolvedModules(['validate', '-c', resolve('stack.yaml')]);
    expect(from(modules, /node_modules\/yaml\//).length).toBeGreaterThan(0);
    expect(from(modules, /node_modules\/(@temporalio|execa)\//)).toEqual([]);
  });
});
