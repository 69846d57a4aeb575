import { execa } from 'execa';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { Probe } from '../model.js';
import { formatCommand } from '../process/errors.js';
import { isZombie, readStat } from '../process/proc.js';
import { isLoopbackHost, listenerReached, listenersOn, LOOPBACK_ADDRESSES, portHeldMessage, socketInodes, type LoopbackAddress } from './listeners.js';

export type HttpProbe = Extract<Probe, { kind: 'http' }>;
export type TcpProbe = Extract<Probe, { kind: 'tcp' }>;
export type ExecProbe = Extract<Probe, { kind: 'exec' }>;
export type LogProbe = Extract<Probe, { kind: 'log' }>;

export interface ProbeResult {
  ok: boolean;
  /** What was tried and what came back, e.g. `GET http://127.0.0.1:8001/health → 503`. */
  detail: string;
}

/** One attempt: it gives up after timeoutMs or when signal aborts (and then reports failure). */
export interface Attempt {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What probes need to know about the service being probed. */
export interface ProbeContext {
  logFile: string;
  /** Where this process's output begins in logFile; earlier runs' lines never count. Default 0. */
  logOffset?: number;
  pid?: number;
  /** With pid: the process identity, so a reused pid does not count as alive. */
  startTime?: number;
  /** Working directory and environment of exec probes: the service's own. */
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Pids of the service's processes (its whole tree): with it, a loopback TCP or HTTP probe passes
   * only when the listening socket it reached belongs to one of them, never a foreign listener.
   */
  processes?: () => Promise<number[]>;
}

/** Who must own the listener a probe reaches; see ProbeContext.processes. */
export type ListenerOwner = Pick<ProbeContext, 'processes'>;

export type ProbeFn = (attempt: Attempt) => Promise<ProbeResult>;

/** A probe bound to its service; a log probe keeps its read position between attempts. */
export function createProbe(probe: Probe, ctx: ProbeContext): ProbeFn {
  switch (probe.kind) {
    case 'http':
      return (attempt) => httpProbe(probe, attempt, ctx);
    case 'tcp':
      return (attempt) => tcpProbe(probe, attempt, ctx);
    case 'exec':
      return (attempt) => execProbe(probe, { ...attempt, cwd: ctx.cwd, env: ctx.env });
    case 'log': {
      const cursor = new LogCursor(ctx.logFile, ctx.logOffset);
      return () => logProbe(probe, cursor);
    }
    case 'process':
      return async () => processProbe(ctx);
  }
}

/**
 * GET `probe.url`; passes on the expected status. A loopback URL (`127.0.0.1`, `localhost`, `[::1]`)
 * is tried on 127.0.0.1, then on ::1, and with `owner.processes` only a listener of the service counts.
 */
export async function httpProbe(probe: HttpProbe, attempt: Attempt, owner: ListenerOwner = {}): Promise<ProbeResult> {
  const label = `GET ${probe.url}`;
  let url: URL;
  try {
    url = new URL(probe.url);
  } catch {
    return { ok: false, detail: `${label} → invalid URL` };
  }
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const targets = isLoopbackHost(url.hostname) ? LOOPBACK_ADDRESSES : [undefined];
  const outcomes: string[] = [];
  for (const target of targets) {
    const response = await httpGet(url, target, attempt);
    const foreign = typeof response === 'number' && target !== undefined ? await foreignListener(port, target, owner) : null;
    const outcome = foreign ?? String(response);
    outcomes.push(outcomes.length === 0 ? outcome : `[${target}] → ${outcome}`);
    if (typeof response === 'number' && foreign === null) return { ok: response === probe.status, detail: `${label} → ${outcomes.join('; ')}` };
  }
  return { ok: false, detail: `${label} → ${outcomes.join('; ')}` };
}

/** The status code of one GET (to `hostname` instead of the URL's host when given), or why there is none. */
function httpGet(url: URL, hostname: string | undefined, attempt: Attempt): Promise<number | string> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const target = hostname === undefined ? {} : { hostname, headers: { host: url.host } };
    // A fresh connection per attempt (agent: false): a pooled socket could outlive a restarted server.
    const request = client.get(url, { agent: false, signal: attempt.signal, ...target }, (response) => {
      clearTimeout(timer);
      response.destroy();
      resolve(response.statusCode ?? 'no status');
    });
    const timer = setTimeout(() => request.destroy(timeoutError(attempt.timeoutMs)), attempt.timeoutMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      resolve(describeError(err));
    });
  });
}

/** Connects to `probe.host:port`; a loopback host is tried on 127.0.0.1, then on ::1, counting only the service's own listener. */
export async function tcpProbe(probe: TcpProbe, attempt: Attempt, owner: ListenerOwner = {}): Promise<ProbeResult> {
  const label = `tcp ${probe.host}:${probe.port}`;
  if (attempt.signal?.aborted) return { ok: false, detail: `${label} → aborted` };
  const targets = isLoopbackHost(probe.host) ? LOOPBACK_ADDRESSES : [probe.host];
  const outcomes: string[] = [];
  for (const target of targets) {
    let outcome = await tcpConnect(target, probe.port, attempt);
    const connected = outcome === 'connected';
    const foreign = connected && isLoopbackHost(target) ? await foreignListener(probe.port, target as LoopbackAddress, owner) : null;
    if (foreign !== null) outcome = foreign;
    outcomes.push(outcomes.length === 0 ? outcome : `${target} → ${outcome}`);
    if (connected && foreign === null) return { ok: true, detail: `${label} → ${outcomes.join('; ')}` };
  }
  return { ok: false, detail: `${label} → ${outcomes.join('; ')}` };
}

function tcpConnect(host: string, port: number, attempt: Attempt): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (outcome: string) => {
      clearTimeout(timer);
      attempt.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish(`timeout after ${attempt.timeoutMs}ms`), attempt.timeoutMs);
    attempt.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish('connected'));
    socket.once('error', (err) => finish(describeError(err)));
  });
}

/**
 * Null when the listener that `target:port` reaches belongs to the service (or no owner is asked
 * for); otherwise what holds it instead, e.g. `held by pid 25276 (node other.mjs), not by the service`.
 */
async function foreignListener(port: number, target: LoopbackAddress, owner: ListenerOwner): Promise<string | null> {
  if (!owner.processes) return null;
  const listener = listenerReached(listenersOn(port), target);
  if (listener !== undefined && socketInodes(await owner.processes()).has(listener.inode)) return null;
  const held = portHeldMessage(port);
  return `${held ? held.replace(`port ${port} is `, '') : 'no listener'}, not by the service`;
}

export async function execProbe(
  probe: ExecProbe,
  attempt: Attempt & { cwd?: string; env?: Record<string, string> },
): Promise<ProbeResult> {
  const label = `exec ${formatCommand(probe.command)}`;
  const [file, ...args] = probe.command;
  if (file === undefined) return { ok: false, detail: 'exec → empty command' };
  if (attempt.signal?.aborted) return { ok: false, detail: `${label} → aborted` };
  // Its own process group, so a timeout also kills whatever the command started (a shell's children
  // would otherwise hold the output pipe open and keep us waiting).
  const child = execa(file, args, {
    cwd: attempt.cwd,
    env: attempt.env,
    extendEnv: true,
    detached: true,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  let timedOut = false;
  const killGroup = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, attempt.timeoutMs);
  attempt.signal?.addEventListener('abort', killGroup, { once: true });
  const result = await child;
  clearTimeout(timer);
  attempt.signal?.removeEventListener('abort', killGroup);

  if (result.exitCode === 0) return { ok: true, detail: `${label} → exit 0` };
  const lastLine = String(result.all ?? '').trim().split('\n').at(-1);
  const outcome = timedOut
    ? `timeout after ${attempt.timeoutMs}ms`
    : result.exitCode !== undefined
      ? `exit ${result.exitCode}`
      : (result.signal ?? (result as { code?: string }).code ?? result.shortMessage);
  return { ok: false, detail: `${label} → ${outcome}${lastLine ? `: ${lastLine}` : ''}` };
}

/** Longest line fragment kept while waiting for its newline: a runaway line must not grow memory. */
const MAX_CARRY = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** Read position in a service log: each probe reads only what was appended since the previous one. */
export class LogCursor {
  private readonly decoder = new StringDecoder('utf8');
  /** The last line read so far, still without its newline. */
  private carry = '';

  constructor(
    readonly file: string,
    private offset = 0,
  ) {}

  /** Feeds every line appended since the last call (and the unfinished last one) to `test`, until it says true. */
  async scan(test: (line: string) => boolean): Promise<'found' | 'not-found' | 'no-file'> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no-file';
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      // Truncated under us (logs cleared): start over.
      if (size < this.offset) this.offset = 0;
      const buffer = Buffer.alloc(READ_CHUNK);
      while (this.offset < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_CHUNK, size - this.offset), this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const lines = (this.carry + this.decoder.write(buffer.subarray(0, bytesRead))).split('\n');
        this.carry = (lines.pop() ?? '').slice(-MAX_CARRY);
        if (lines.some(test)) return 'found';
      }
      return test(this.carry) ? 'found' : 'not-found';
    } finally {
      await handle.close();
    }
  }

  get position(): number {
    return this.offset;
  }
}

export async function logProbe(probe: LogProbe, cursor: LogCursor): Promise<ProbeResult> {
  const matches = compilePattern(probe.pattern);
  let matched = '';
  const outcome = await cursor.scan((line) => {
    if (!matches(line)) return false;
    matched = line;
    return true;
  });
  const label = `log ${JSON.stringify(probe.pattern)}`;
  switch (outcome) {
    case 'found':
      return { ok: true, detail: `${label} → matched ${JSON.stringify(matched.trim().slice(0, 200))}` };
    case 'no-file':
      return { ok: false, detail: `${label} → no log file ${cursor.file}` };
    case 'not-found':
      return { ok: false, detail: `${label} → not seen yet (log at byte ${cursor.position})` };
  }
}

/** A regular expression when the pattern is one, otherwise a plain substring (e.g. `Listening (http)`). */
export function compilePattern(pattern: string): (line: string) => boolean {
  try {
    const regex = new RegExp(pattern);
    return (line) => regex.test(line);
  } catch {
    return (line) => line.includes(pattern);
  }
}

export function processProbe(ctx: Pick<ProbeContext, 'pid' | 'startTime'>): ProbeResult {
  if (ctx.pid === undefined) return { ok: false, detail: 'process → no pid' };
  const stat = readStat(ctx.pid);
  const alive = stat !== null && !isZombie(stat) && (ctx.startTime === undefined || stat.startTime === ctx.startTime);
  return { ok: alive, detail: `process ${ctx.pid} → ${alive ? 'running' : 'not running'}` };
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`timeout after ${ms}ms`), { code: 'TIMEOUT' });
}

function describeError(err: Error): string {
  if (err.name === 'AbortError') return 'aborted';
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'TIMEOUT' ? err.message : (code ?? err.message);
}
