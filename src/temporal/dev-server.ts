import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { TemporalConnectionOptions } from './connection.js';
import { terminateProcess } from '../process/terminate.js';
import { isLoopback, isPortOpen, splitAddress } from './address.js';

export { isPortOpen } from './address.js';

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
const READY_PROBE_TIMEOUT_MS = 1_000;
const LOG_TAIL_LINES = 20;

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; undefined runs the server headless. */
  uiPort?: number;
  /** Port of the HTTP API (grpc-gateway, `/api/v1/...`); undefined: the CLI picks a random free one. */
  httpPort?: number;
  /** SQLite file; undefined keeps all state in memory. */
  dbFile?: string;
  /** Receives the server's stdout and stderr (appended). */
  logFile: string;
  /** Run in its own process group, unreferenced, so the server outlives this process. */
  detached: boolean;
  extraArgs?: string[];
  /** The Web UI decodes payloads through this codec endpoint (`--ui-codec-endpoint`), e.g. `http://127.0.0.1:8234`. */
  codecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** `127.0.0.1:<httpPort>` when the options named one; null otherwise. */
  httpAddress: string | null;
  pid: number;
  /** SIGTERM, then SIGKILL after a few seconds. */
  stop(): Promise<void>;
}

export class DevServerStartError extends Error {
  constructor(message: string, logTail: string) {
    super(logTail === '' ? message : `${message}\nLast lines of the server log:\n${logTail}`);
    this.name = 'DevServerStartError';
  }
}

/**
 * The `temporal server start-dev` arguments (Temporal CLI 1.5.1) for `opts`: loopback only, the
 * StackName search attribute, updates enabled, and the dynamic config and SQLite pragmas that make
 * hand-offs fast (see the comments; names from Temporal's `common/dynamicconfig/constants.go`).
 * `extraArgs` come last.
 */
export function devServerArgs(opts: Omit<DevServerOptions, 'cliPath' | 'logFile' | 'detached'>): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    ...(opts.uiPort === undefined ? ['--headless'] : ['--ui-port', String(opts.uiPort)]),
    ...(opts.httpPort === undefined ? [] : ['--http-port', String(opts.httpPort)]),
    ...(opts.dbFile === undefined ? [] : ['--db-filename', opts.dbFile]),
    ...(opts.codecEndpoint === undefined ? [] : ['--ui-codec-endpoint', opts.codecEndpoint]),
    '--search-attribute',
    'StackName=Keyword',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // Timers otherwise fire up to a second late: restart back-offs are often shorter than that.
    '--dynamic-config-value',
    'history.timerProcessorMaxTimeShift="10ms"',
    // Hand-off speed (issue 8, measured with CLI 1.5.1 on 2 cores): an activity completion reaches the
    // next activity in ~9 ms instead of ~100 ms, a child's first task in ~18 ms instead of ~146 ms.
    // Eager execution hands a workflow task's new activity straight back to its worker when they share a task queue.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // The history service's transfer queue is polled 20 times a second by default: two ~45 ms waits per hop.
    '--dynamic-config-value',
    'history.transferProcessorMaxPollRPS=1000',
    // Fewer fsyncs for the SQLite store (in memory these are no-ops); WAL with synchronous=normal
    // can lose the last commits on a power cut, never on a process crash (https://sqlite.org/wal.html).
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'warn',
    ...(opts.extraArgs ?? []),
  ];
}

/** True when a Temporal frontend at `address` answers a GetSystemInfo call within `timeoutMs`. */
export async function isTemporalReachable(
  address: string,
  timeoutMs: number,
  options: Omit<TemporalConnectionOptions, 'address'> = {},
): Promise<boolean> {
  const { host, port } = splitAddress(address);
  // gRPC keeps retrying a refused connection until the deadline; a refused loopback port is a definite no.
  // Remote addresses skip this check because a proxy may stand between us and them.
  if (isLoopback(host) && !(await isPortOpen(host, port, timeoutMs))) return false;
  const connection = Connection.lazy({ ...options, address, connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/**
 * The first port from `from` on (at most `tries` of them) that is not in `avoid` and that a trial
 * bind on 127.0.0.1 finds free, else any free port (findFreePort): a port to suggest to a person.
 */
export async function suggestFreePort(from: number, avoid: readonly number[], tries = 50): Promise<number> {
  for (let port = from; port < from + tries && port <= 65535; port++) {
    if (!avoid.includes(port) && (await canListen(port))) return port;
  }
  return findFreePort();
}

/** True when a listener on 127.0.0.1:`port` can be opened now (and is closed again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function readLogTail(logFile: string, fromOffset: number): Promise<string> {
  const log = await readFile(logFile).catch(() => Buffer.alloc(0));
  return log.subarray(fromOffset).toString('utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/** Runs `temporal server start-dev` and resolves once its frontend answers gRPC calls. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  // A server already on the port would answer our readiness probe while ours fails to bind.
  if (await isPortOpen('127.0.0.1', opts.port, READY_PROBE_TIMEOUT_MS)) {
    throw new DevServerStartError(`Cannot start a Temporal dev server on ${address}: the port is already in use.`, '');
  }

  await mkdir(path.dirname(opts.logFile), { recursive: true });
  const logOffset = await stat(opts.logFile).then((s) => s.size, () => 0);
  const logFd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.cliPath, devServerArgs(opts), { detached: opts.detached, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const state: { exit: string | null } = { exit: null };
  child.once('exit', (code, signal) => {
    state.exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(new DevServerStartError(`Cannot run ${opts.cliPath}: ${err.message}`, '')),
    );
  });
  if (opts.detached) child.unref();
  const pid = child.pid as number;
  const failure = async (message: string) => new DevServerStartError(message, await readLogTail(opts.logFile, logOffset));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (state.exit !== null) {
      throw await failure(`\`temporal server start-dev\` exited (${state.exit}) before answering on ${address}; log: ${opts.logFile}`);
    }
    if (await isTemporalReachable(address, READY_PROBE_TIMEOUT_MS)) break;
    if (Date.now() >= deadline) {
      await terminateProcess(pid, { group: opts.detached });
      throw await failure(`Temporal dev server did not answer on ${address} within ${READY_TIMEOUT_MS / 1000} s; log: ${opts.logFile}`);
    }
    await sleep(READY_POLL_MS);
  }

  return {
    address,
    uiUrl: opts.uiPort === undefined ? null : `http://127.0.0.1:${opts.uiPort}`,
    httpAddress: opts.httpPort === undefined ? null : `127.0.0.1:${opts.httpPort}`,
    pid,
    stop: () => terminateProcess(pid, { group: opts.detached }),
  };
}
