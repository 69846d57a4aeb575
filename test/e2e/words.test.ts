// Words that match the facts, through the CLI as a user meets them: `start` names only what it
// started and fails at once (as `restart` of a service with no process), naming the holder, on a
// port another process holds; `restart` names the service once; `down` prints a multi-line service error as indented lines, not an escaped `\n`.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { crashyStack, output, stackflowIn, type CliStack } from '../support/cli-stack.js';
import { findFreePort } from '../../src/temporal/dev-server.js';

let stack: CliStack;
const stackflow = (args: string[]) => stackflowIn(stack, args);

/** A process that is not stackflow's, listening on `port` until killed; resolves once it listens. */
async function holdPort(port: number): Promise<ChildProcess> {
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(holder.stdout!, 'data');
  return holder;
}

beforeAll(async () => {
  stack = await crashyStack('words', 1);
});

afterAll(async () => {
  await stackflow(['down']);
});

describe('words that match the facts', () => {
  test('up beside a worker already serving the host (npm run worker elsewhere) says a second one slows hand-offs', async () => {
    const beside = await crashyStack('wordstwo', 1);
    const worker = stackflowIn(beside, ['worker']);
    try {
      await output(worker, /stackflow worker for host/);
      const up = await stackflowIn(beside, ['up', '-d', 'db']);
      expect(up.stdout).toContain(`note: worker pid ${worker.pid} already serves host "local"`);
      expect(up.exitCode).toBe(0);
      expect((await stackflowIn(beside, ['down'])).exitCode).toBe(0);
      // Once the other worker is gone, the home's own is the only one: nothing to say.
      worker.kill('SIGTERM');
      await worker;
      const alone = await stackflowIn(beside, ['up', '-d', 'db']);
      expect(alone.exitCode).toBe(0);
      expect(alone.stdout).toContain('worker started in the background');
      expect(alone.stdout).not.toContain('note: worker pid');
    } finally {
      worker.kill('SIGKILL');
      await stackflowIn(beside, ['down']);
    }
  });

  test('a TEMPORAL_ADDRESS that is not host:port: exit 2 naming it, with an example, before anything starts', async () => {
    const bogus = await stackflowIn(stack, ['up', '-d'], { TEMPORAL_ADDRESS: 'bogus' });
    expect(bogus.exitCode).toBe(2);
    expect(bogus.stderr).toMatch(/^TEMPORAL_ADDRESS: "bogus" is not host:port .*e\.g\. TEMPORAL_ADDRESS=127\.0\.0\.1:7233/);
    expect(bogus.stderr).not.toContain('start-dev --port bogus');
    expect(existsSync(stack.env.STACKFLOW_HOME!)).toBe(false);
  });

  test('a port taken after the preflight: the retry line and the log marker name the holder', async () => {
    const late = await crashyStack('wordsport', 1);
    const [dbPort, apiPort] = [await findFreePort(), await findFreePort()];
    const http = (port: number) => ({ http: { url: `http://127.0.0.1:${port}/health` }, interval: '100ms' });
    const services = {
      // db is slow to get ready, so api spawns well after `up` has checked its port.
      db: { command: ['node', FIXTURE_SERVICE], port: dbPort, env: { READY_DELAY_MS: '1500' }, health: http(dbPort) },
      api: {
        command: ['node', FIXTURE_SERVICE],
        port: apiPort,
        health: http(apiPort),
        depends_on: ['db'],
        restart: { policy: 'on-failure', max_restarts: 1, backoff: { initial: '100ms', max: '200ms' } },
      },
    };
    await writeFile(late.file, YAML.stringify({ name: late.name, services }));
    const up = stackflowIn(late, ['up', '-d']);
    let holder: ChildProcess | undefined;
    try {
      await output(up, /stack \S+: 2 service/);
      holder = await holdPort(apiPort);
      const result = await up;
      expect(result.exitCode).toBe(1);
      const held = `port ${apiPort} is held by pid ${holder.pid} \\(`;
      expect(result.stdout).toMatch(new RegExp(`^api: not started: ${held}.*\\); retry 1/1 in \\S+$`, 'm'));
      const logs = await stackflowIn(late, ['logs', 'api']);
      expect(logs.stdout).toMatch(new RegExp(`— not started: ${held}.*\\), restarting in \\d+ms$`, 'm'));
    } finally {
      if (holder) {
        const exited = once(holder, 'exit');
        holder.kill();
        await exited;
      }
      await stackflowIn(late, ['down']);
    }
  });

  test('start, restart and down say what happened, once and whole', async () => {
    const up = await stackflow(['up', '-d']);
    expect(up.exitCode).toBe(1);

    // `start` of what already runs starts nothing and says so.
    const already = await stackflow(['start', 'api']);
    expect(already.exitCode).toBe(0);
    expect(already.stdout).toContain('api is already running');
    expect(already.stdout).not.toContain('started');
    const gaveUp = await stackflow(['start', 'crashy']);
    expect(gaveUp.exitCode).toBe(1);
    expect(gaveUp.stderr).toContain('crashy is failed; `stackflow restart crashy` starts it again');

    // A port another process holds: exit 2 at once, naming the holder; nothing is started.
    expect((await stackflow(['stop', 'api'])).exitCode).toBe(0);
    const apiPort = YAML.parse(await readFile(stack.file, 'utf8')).services.api.port as number;
    const holder = await holdPort(apiPort);
    try {
      const blocked = await stackflow(['start', 'api']);
      expect(blocked.exitCode).toBe(2);
      expect(blocked.stderr).toContain(`services.api.port: port ${apiPort} is held by pid ${holder.pid} (`);
      // `restart` of a service with no process checks its port the same way.
      const restartBlocked = await stackflow(['restart', 'api']);
      expect(restartBlocked.exitCode).toBe(2);
      expect(restartBlocked.stderr).toContain(`services.api.port: port ${apiPort} is held by pid ${holder.pid} (`);
      expect(JSON.parse((await stackflow(['status', '--json'])).stdout).services.api.state).toBe('stopped');
    } finally {
      const exited = once(holder, 'exit');
      holder.kill();
      await exited;
    }

    // Only what this command started is named (db ran all along).
    const started = await stackflow(['start', 'api']);
    expect(started.exitCode).toBe(0);
    expect(started.stdout).toMatch(/^started api in \S+$/m);

    // `up` of a stopped service starts it, and says so (not "already running").
    expect((await stackflow(['stop', 'api'])).exitCode).toBe(0);
    const upAgain = await stackflow(['up', '-d', 'api']);
    expect(upAgain.exitCode).toBe(0);
    expect(upAgain.stdout).toMatch(/is up in \S+$/m);
    expect(upAgain.stdout).not.toContain('already running');

    // The service is named once in a restart's error.
    const restart = await stackflow(['restart', 'crashy']);
    expect(restart.exitCode).toBe(1);
    expect(restart.stderr).toMatch(/^crashy did not become healthy/m);
    expect(restart.stderr).not.toMatch(/crashy: crashy/);

    // A multi-line error as indented lines, each escaped on its own.
    const down = await stackflow(['down']);
    expect(down.stdout + down.stderr).not.toContain('\\n');
    expect(down.stdout).toMatch(/^crashy: failed: .*\n {2}last log lines:$/m);
    expect(await stackProcesses(stack.name)).toEqual([]);
  });
});
