import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  devServerArgs,
  DevServerStartError,
  findFreePort,
  isTemporalReachable,
  startDevServer,
} from '../../src/temporal/dev-server.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stackflow-dev-server-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('devServerArgs', () => {
  test('headless, in memory, with the StackName attribute, updates enabled, prompt timers, eager activities, a fast transfer queue and WAL', () => {
    expect(devServerArgs({ port: 7300, extraArgs: ['--namespace', 'x'] })).toEqual([
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', '7300', '--headless',
      '--search-attribute', 'StackName=Keyword',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
      '--dynamic-config-value', 'history.timerProcessorMaxTimeShift="10ms"',
      '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
      '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000',
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
      '--log-level', 'warn', '--namespace', 'x',
    ]);
  });

  test('a UI port and a db file replace --headless and in-memory state', () => {
    const args = devServerArgs({ port: 7233, uiPort: 8233, dbFile: '/var/x/temporal.db' });
    expect(args).not.toContain('--headless');
    expect(args.join(' ')).toContain('--ui-port 8233 --db-filename /var/x/temporal.db');
  });

  test('a codec endpoint points the Web UI at it', () => {
    expect(devServerArgs({ port: 7233, uiPort: 8233, codecEndpoint: 'http://127.0.0.1:8234' }).join(' ')).toContain(
      '--ui-codec-endpoint http://127.0.0.1:8234',
    );
    expect(devServerArgs({ port: 7233 })).not.toContain('--ui-codec-endpoint');
  });

  test('an HTTP API port is passed on (the CLI picks a random one otherwise)', () => {
    expect(devServerArgs({ port: 7233, httpPort: 7300 }).join(' ')).toContain('--http-port 7300');
    expect(devServerArgs({ port: 7233 })).not.toContain('--http-port');
  });
});

describe('isTemporalReachable / findFreePort', () => {
  test('a closed loopback port is unreachable, answered without waiting for the timeout', async () => {
    const started = Date.now();
    expect(await isTemporalReachable(`127.0.0.1:${await findFreePort()}`, 10_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('a TCP listener that does not speak gRPC is unreachable', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      expect(await isTemporalReachable(`127.0.0.1:${port}`, 500)).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('startDevServer failures', () => {
  async function fakeCli(body: string): Promise<string> {
    const file = path.join(dir, 'temporal');
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  test('a server that exits early fails with the tail of its log, not earlier runs', async () => {
    const logFile = path.join(dir, 'server.log');
    await writeFile(logFile, 'old run\n');
    const cliPath = await fakeCli('echo "starting $2"; echo "bind: address already in use" >&2; exit 1');
    const attempt = startDevServer({ cliPath, port: await findFreePort(), logFile, detached: false });
    await expect(attempt).rejects.toBeInstanceOf(DevServerStartError);
    await expect(attempt).rejects.toThrow(/exited \(exit code 1\)[\s\S]*starting start-dev\nbind: address already in use$/);
    await expect(attempt).rejects.not.toThrow('old run');
  });

  test('refuses a port that is already taken', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const cliPath = await fakeCli('exit 0');
      await expect(
        startDevServer({ cliPath, port, logFile: path.join(dir, 'server.log'), detached: false }),
      ).rejects.toThrow(`127.0.0.1:${port}: the port is already in use`);
    } finally {
      server.close();
    }
  });

  test('a missing binary is reported as such', async () => {
    await expect(
      startDevServer({ cliPath: path.join(dir, 'missing'), port: await findFreePort(), logFile: path.join(dir, 'l'), detached: false }),
    ).rejects.toThrow(`Cannot run ${path.join(dir, 'missing')}`);
  });
});
