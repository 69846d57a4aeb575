// The read side of a command's session with Temporal (`status`, and the "no worker" check every
// command makes): over the server's HTTP API when its address is known (the embedded server records
// it; TEMPORAL_HTTP_ADDRESS names an external server's), else through the SDK client (session.ts,
// loaded only then). Nothing here loads the Temporal SDK, yaml or zod.
import { EncryptionConfigError } from '../codec/errors.js';
import { loadKeyring, type Keyring } from '../codec/keys.js';
import { StackReads } from '../stack-reads.js';
import { isLoopback, isPortOpen, splitAddress } from '../temporal/address.js';
import { loadTemporalConfig } from '../temporal/config.js';
import { liveRecord } from '../temporal/embedded-record.js';
import { HTTP_ADDRESS_VARIABLE, HttpReads } from '../temporal/http-reads.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/ids.js';
import { CliError, EXIT } from './errors.js';

/** What a read-only command holds: the stack's reads, its task queue, and how to let go. */
export interface ReadSession {
  stacks: StackReads;
  taskQueue: string;
  /** How the reads go: `http` (the HTTP API at that address) or `sdk`. */
  via: string;
  close(): Promise<void>;
}

/** A TCP connect to a loopback port answers at once, open or refused; this bounds a stalled one. */
const PORT_CHECK_TIMEOUT_MS = 3_000;

/** How long a read (the `status` query) may take once a worker is known to poll. */
export const QUERY_DEADLINE_MS = 10_000;

export function taskQueueFromEnv(): string {
  return process.env.STACKFLOW_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

/** The keyring of this process (null: STACKFLOW_ENCRYPTION=off); a bad setting is a usage error (exit 2). */
export async function keyringFromEnv(createKey: boolean, log: (line: string) => void): Promise<Keyring | null> {
  try {
    return await loadKeyring({ create: createKey, log });
  } catch (err) {
    if (err instanceof EncryptionConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/** `stack demo: not running (no Temporal server at 127.0.0.1:7233)`: what a null session means. */
export function noServerMessage(stack: string): string {
  return `stack ${stack}: not running (no Temporal server at ${loadTemporalConfig().address})`;
}

/**
 * Reads of the stacks on the Temporal server, never starting one: over the HTTP API when its
 * address is known, else findSession's SDK session; null when no server runs at the default address
 * (told without the SDK when nothing listens there). Errors as findSession's.
 */
export async function findReadSession(home: string, log: (line: string) => void): Promise<ReadSession | null> {
  const http = await httpApiAddress(home);
  if (http !== null) {
    const reads = new HttpReads({ address: http, namespace: loadTemporalConfig().namespace, keyring: await keyringFromEnv(false, log) });
    const stacks = new StackReads(reads, taskQueueFromEnv());
    return { stacks, taskQueue: stacks.taskQueue, via: `http ${http}`, close: async () => reads.close() };
  }
  // Nothing listening at the default address: no server, and no need to load the SDK to find that out.
  const config = loadTemporalConfig();
  if (config.addressSource === 'default') {
    const { host, port } = splitAddress(config.address);
    if (isLoopback(host) && !(await isPortOpen(host, port, PORT_CHECK_TIMEOUT_MS))) return null;
  }
  const { findSession } = await import('./session.js');
  const session = await findSession(home, log);
  return session && { stacks: session.stacks, taskQueue: session.taskQueue, via: 'sdk', close: () => session.close() };
}

/**
 * The HTTP API's `host:port`: TEMPORAL_HTTP_ADDRESS, else the one recorded by this home's embedded
 * server when that server runs and is the one commands use (no TEMPORAL_ADDRESS / config file
 * address); null when unknown (old record) or nothing answers there.
 */
async function httpApiAddress(home: string): Promise<string | null> {
  const configured = process.env[HTTP_ADDRESS_VARIABLE];
  if (configured) return configured;
  if (loadTemporalConfig().addressSource !== 'default') return null;
  const record = await liveRecord(home);
  return record?.httpAddress ?? null;
}

/**
 * Throws "no worker is running" (exit 1) when the stack workflow runs but no worker polls its
 * task queue: queries and updates would wait for one forever. The message says what the history
 * knows (since when the stack runs, which service workflows it has) and how to start a worker.
 */
export async function requireWorker(session: { stacks: StackReads; taskQueue: string }, stack: string): Promise<void> {
  if (await session.stacks.hasWorker()) return;
  const known = await session.stacks.describeWithoutWorker(stack);
  throw new CliError(
    [
      `stack ${stack}: no worker is running on task queue ${session.taskQueue}, so nobody can answer for the stack.`,
      known ? `  the history knows: ${known}` : '',
      '  start one with `stackflow up -d` (a background worker that adopts the running services) or `stackflow worker`.',
    ]
      .filter(Boolean)
      .join('\n'),
    EXIT.failure,
  );
}
