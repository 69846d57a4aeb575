import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, parseStack, preflight } from '../../src/config/index.js';
import type { StackSpec } from '../../src/model.js';

const dir = mkdtempSync(join(tmpdir(), 'stackflow-preflight-'));
mkdirSync(join(dir, 'bin'));
writeFileSync(join(dir, 'bin/run.sh'), '#!/bin/sh\n');
chmodSync(join(dir, 'bin/run.sh'), 0o755);
writeFileSync(join(dir, 'bin/data.txt'), 'not a program\n');

function stack(services: object): StackSpec {
  return parseStack(JSON.stringify({ name: 'pre', services }), { file: join(dir, 'stack.yaml'), env: {} }).spec;
}

async function problemsOf(services: object, ignorePortsOf?: string[]): Promise<string[]> {
  return (await preflight(stack(services), ignorePortsOf ? { ignorePortsOf } : {})).map(formatProblem);
}

/** A port held open by this test, like a process outside the stack would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { port: (server.address() as { port: number }).port, server };
}

async function freePort(): Promise<number> {
  const { port, server } = await holdPort();
  await new Promise((closed) => server.close(closed));
  return port;
}

describe('preflight', () => {
  it('passes executables found on PATH, by absolute path and relative to cwd, and a free port', async () => {
    const port = await freePort();
    expect(
      await problemsOf({
        onPath: { command: 'node -e 1', port },
        absolute: { command: [process.execPath, '-v'] },
        relative: { command: './run.sh', cwd: 'bin' },
        viaShell: { command: 'no-such-program-anywhere | cat', shell: true },
      }),
    ).toEqual([]);
  });

  it('searches the PATH of the service env', async () => {
    expect(await problemsOf({ api: { command: 'run.sh', env: { PATH: join(dir, 'bin') } } })).toEqual([]);
  });

  it('reports an executable that is not on PATH', async () => {
    expect(await problemsOf({ api: { command: 'no-such-program-anywhere --flag' } })).toEqual([
      'services.api.command: executable "no-such-program-anywhere" not found on PATH (install it or fix the command)',
    ]);
  });

  it('adds the install hint when uv is not on PATH', async () => {
    expect(await problemsOf({ sync: { command: 'uv sync --frozen', env: { PATH: join(dir, 'bin') } } })).toEqual([
      'services.sync.command: executable "uv" not found on PATH (install it or fix the command; for uv: ' +
        '`python3 -m pip install uv` or the installer at https://docs.astral.sh/uv/getting-started/installation/)',
    ]);
  });

  it('reports a watch path that does not exist, and passes a folder and a file', async () => {
    expect(await problemsOf({ api: { command: 'node', watch: { paths: ['bin', 'bin/data.txt', 'src/gone'] } } })).toEqual([
      `services.api.watch.paths[2]: "${join(dir, 'src/gone')}" does not exist (create it or fix the path)`,
    ]);
  });

  it('reports a path that does not exist or is not executable', async () => {
    expect(await problemsOf({ api: { command: './missing.sh', cwd: 'bin' }, txt: { command: 'bin/data.txt' } })).toEqual([
      `services.api.command: executable "./missing.sh" not found at ${join(dir, 'bin/missing.sh')} (fix the path or the service's cwd)`,
      `services.txt.command: "${join(dir, 'bin/data.txt')}" is not an executable file (chmod +x it, or run it with its interpreter, e.g. [node, bin/data.txt])`,
    ]);
  });

  it('reports a working directory that does not exist', async () => {
    expect(await problemsOf({ api: { command: 'node', cwd: 'nowhere' } })).toEqual([
      `services.api.cwd: directory "${join(dir, 'nowhere')}" does not exist (create it or fix cwd)`,
    ]);
  });

  it('reports a port held by another process, once for the service', async () => {
    const { port, server } = await holdPort();
    try {
      // The holder is this test process: named by pid and command line.
      const cmdline = readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean).join(' ');
      const held = `services.api.port: port ${port} is held by pid ${process.pid} (${cmdline}) (stop it or pick another port)`;
      expect(await problemsOf({ api: { command: 'node', port } })).toEqual([held]);
      expect(await problemsOf({ api: { command: 'node', port, replicas: 2 }, other: { command: 'missing-program-x', replicas: 2 } })).toEqual([
        held,
        'services.other.command: executable "missing-program-x" not found on PATH (install it or fix the command)',
      ]);
    } finally {
      server.close();
    }
  });

  it('reports a port held on ::1 only: both loopbacks count', async () => {
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '::1', listening));
    const { port } = server.address() as { port: number };
    try {
      expect(await problemsOf({ api: { command: 'node', port } })).toEqual([
        expect.stringMatching(new RegExp(`^services\\.api\\.port: port ${port} is held by pid ${process.pid} `)),
      ]);
    } finally {
      server.close();
    }
  });

  it('skips the ports of services that are already running in the stack', async () => {
    const { port, server } = await holdPort();
    try {
      expect(await problemsOf({ api: { command: 'node', port } }, ['api'])).toEqual([]);
    } finally {
      server.close();
    }
  });
});
