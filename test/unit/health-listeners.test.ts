// Readiness counts only the service's own listener, on either loopback; a port taken after the
// preflight is named at the spawn. Real processes, real sockets.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { waitUntilReady } from '../../src/health/poller.js';
import { listenersOn, loopbackUrl, portHeldMessage } from '../../src/health/listeners.js';
import { tcpProbe } from '../../src/health/probes.js';
import type { ProcessRecord } from '../../src/process/record.js';
import { eventually, freePort, processSandbox, serviceSpec } from '../fixtures/proc/helpers.js';

const sandbox = processSandbox();
const { groups } = sandbox;

/** A node one-liner that listens on `host:port` and says `up`. */
const listener = (host: string, port: number) => [
  'node',
  '-e',
  `require('net').createServer((s) => s.end()).listen(${port}, ${JSON.stringify(host)}, () => console.log('up'))`,
];

async function startService(name: string, command: string[], port?: number, env: Record<string, string> = {}): Promise<ProcessRecord> {
  const { record } = await sandbox.manager.spawn(serviceSpec(name, command, { env, ...(port === undefined ? {} : { port }) }));
  groups.add(record.pgid);
  return record;
}

/** A process outside any stack, listening on `host:port`; resolves once it listens. */
async function foreignListener(host: string, port: number): Promise<number> {
  const child = spawn(listener(host, port)[0]!, listener(host, port).slice(1), { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  groups.add(child.pid!);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.stdout!.destroy();
  return child.pid!;
}

const processesOf = (record: ProcessRecord) => async () => (await sandbox.manager.processesOf(record)).map((p) => p.pid);

describe('listeners from /proc/net/tcp{,6}', () => {
  it('finds a listener on 127.0.0.1 and one on ::1, and the URL where a ::1-only service answers', async () => {
    const [v4, v6] = [await freePort(), await freePort()];
    await foreignListener('127.0.0.1', v4);
    await foreignListener('::1', v6);
    expect(listenersOn(v4)).toEqual([{ address: '127.0.0.1', port: v4, inode: expect.any(Number) }]);
    expect(listenersOn(v6)).toEqual([{ address: '::1', port: v6, inode: expect.any(Number) }]);
    expect(loopbackUrl(v4)).toBe(`http://127.0.0.1:${v4}`);
    expect(loopbackUrl(v6)).toBe(`http://[::1]:${v6}`);
  });
});

describe('<DEP>_URL', () => {
  it('points a dependent at [::1] when its dependency answers on ::1 only; other values stay as written', async () => {
    const [v6, v4] = [await freePort(), await freePort()];
    await foreignListener('::1', v6);
    await foreignListener('127.0.0.1', v4);
    const env = {
      DATA_URL: `http://127.0.0.1:${v6}`,
      DATA_HOST: '127.0.0.1',
      DATA_PORT: String(v6),
      USER_URL: `http://127.0.0.1:${v4}`,
      USER_HOST: '127.0.0.1',
      USER_PORT: String(v4),
      OTHER_URL: `http://127.0.0.1:${v6}`,
    };
    const record = await startService('api', ['sleep', '30'], undefined, env);
    const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0');
    expect(environ).toEqual(
      expect.arrayContaining([
        `DATA_URL=http://[::1]:${v6}`,
        'DATA_HOST=::1',
        `USER_URL=http://127.0.0.1:${v4}`,
        'USER_HOST=127.0.0.1',
        `OTHER_URL=http://127.0.0.1:${v6}`,
      ]),
    );
  });
});

describe('readiness by port', () => {
  it('a service listening on [::1] only becomes ready with the default readiness (tcp 127.0.0.1:<port>)', async () => {
    const port = await freePort();
    const record = await startService('vite', listener('::1', port), port);
    const ready = await waitUntilReady(
      { probe: { kind: 'tcp', host: '127.0.0.1', port }, intervalMs: 200, timeoutMs: 1000, startPeriodMs: 0, readyTimeoutMs: 10_000 },
      { logFile: record.logFile, pid: record.pid, processes: processesOf(record) },
    );
    expect(ready.detail).toBe(`tcp 127.0.0.1:${port} → ECONNREFUSED; ::1 → connected`);
  });

  it('a foreign listener on the port never makes the service ready, and is named', async () => {
    const port = await freePort();
    const foreign = await foreignListener('127.0.0.1', port);
    // Our service does not listen at all (it would have died with "address in use").
    const record = await startService('api', ['sleep', '30']);
    const result = await tcpProbe({ kind: 'tcp', host: '127.0.0.1', port }, { timeoutMs: 1000 }, { processes: processesOf(record) });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain(`tcp 127.0.0.1:${port} → held by pid ${foreign} (node -e `);
    expect(result.detail).toContain('not by the service');
  });

  it('the service’s own listener counts, beside a foreign one on the other loopback', async () => {
    const port = await freePort();
    await foreignListener('127.0.0.1', port);
    const record = await startService('api', listener('::1', port));
    await eventually(async () => (await readFile(record.logFile, 'utf8')).includes('up'), 5000, 'listening');
    const result = await tcpProbe({ kind: 'tcp', host: 'localhost', port }, { timeoutMs: 1000 }, { processes: processesOf(record) });
    expect(result).toMatchObject({ ok: true, detail: expect.stringContaining('::1 → connected') });
  });
});

describe('the port re-check before the spawn', () => {
  it('names the process that took the port since the preflight, and starts nothing', async () => {
    const port = await freePort();
    const foreign = await foreignListener('::1', port);
    expect(portHeldMessage(port)).toMatch(new RegExp(`^port ${port} is held by pid ${foreign} \\(node -e .*\\)$`));
    await expect(sandbox.manager.spawn(serviceSpec('data', listener('127.0.0.1', port), { port }))).rejects.toMatchObject({
      details: { reason: 'port', detail: portHeldMessage(port) },
      message: expect.stringContaining(`data: not started: port ${port} is held by pid ${foreign}`),
    });
  });
});
