// A stack file for the end-to-end tests that drive the CLI as a user does, with its own directory,
// STACKFLOW_HOME and task queue on the jest run's dev server.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { FIXTURE_SERVICE } from './harness.js';
import { testTemporalAddress } from './temporal-server.js';

export interface CliStack {
  dir: string;
  /** The stack file. */
  file: string;
  name: string;
  /** The environment of each `stackflow` run: the test server, the stack's home and task queue, no colours. */
  env: Record<string, string>;
}

/**
 * `db`, `api` (needs db) and `crashy`, which exits 1 before it ever listens, so every run is a failed
 * start until it gives up after `maxRestarts` restarts (back-off 100 ms, at most 200 ms). `prefix`
 * names the stack (`<prefix><8 hex digits>`), its folder and its task queue.
 */
export async function crashyStack(prefix: string, maxRestarts: number): Promise<CliStack> {
  const dir = await mkdtemp(join(tmpdir(), `stackflow-${prefix}-`));
  const name = `${prefix[0]}${randomUUID().slice(0, 8)}`;
  const [dbPort, apiPort, crashyPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
  const http = (port: number) => ({ http: { url: `http://127.0.0.1:${port}/health` }, interval: '100ms' });
  const services = {
    db: { command: ['node', FIXTURE_SERVICE], port: dbPort, health: http(dbPort) },
    api: { command: ['node', FIXTURE_SERVICE], port: apiPort, health: http(apiPort), depends_on: ['db'] },
    crashy: {
      command: ['node', FIXTURE_SERVICE],
      port: crashyPort,
      env: { READY_DELAY_MS: '5000', EXIT_AFTER_MS: '150', EXIT_CODE: '1' },
      health: http(crashyPort),
      restart: { policy: 'on-failure', max_restarts: maxRestarts, backoff: { initial: '100ms', max: '200ms' } },
    },
  };
  const file = join(dir, 'stack.yaml');
  await writeFile(file, YAML.stringify({ name, services }));
  const env = {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    STACKFLOW_TASK_QUEUE: `e2e-${prefix}-${randomUUID()}`,
    STACKFLOW_HOME: join(dir, 'home'),
    NO_COLOR: '1',
  };
  return { dir, file, name, env };
}

/** `stackflow <args> -c <its file>` as a user runs it, in the stack's environment plus `extraEnv`; never rejects. */
export function stackflowIn(stack: CliStack, args: string[], extraEnv: Record<string, string> = {}) {
  return execa(process.execPath, [resolve('bin/stackflow.js'), ...args, '-c', stack.file], { reject: false, env: { ...stack.env, ...extraEnv } });
}

/** Resolves once the child has printed `pattern` on stdout; rejects if it exits first. */
export function output(child: ResultPromise, pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolvePromise, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) resolvePromise();
    });
    child.once('exit', () => reject(new Error(`exited before printing ${pattern}:\n${seen}`)));
  });
}
