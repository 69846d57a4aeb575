import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { TemporalUnreachableError } from './errors.js';
import { loadTemporalConfig, type TemporalConfigOptions } from './config.js';

export {
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  loadTemporalConfig,
  type TemporalConfig,
  type TemporalConfigOptions,
  type TemporalConnectionOptions,
} from './config.js';


function unreachable(address: string, cause: unknown): TemporalUnreachableError {
  return new TemporalUnreachableError(
    address,
    'Start one with `temporal server start-dev`, or point TEMPORAL_ADDRESS at a running server.',
    { cause },
  );
}

export interface ConnectClientOptions extends TemporalConfigOptions {
  /** Defaults to the SDK's 10 s. */
  connectTimeoutMs?: number;
  /** stackflow's (codec/stackflowDataConverter); the SDK default (no encryption) when absent. */
  dataConverter?: DataConverter;
}

export async function connectClient(
  opts: ConnectClientOptions = {},
): Promise<{ client: Client; connection: Connection; namespace: string }> {
  const config = loadTemporalConfig(opts);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...config.connectionOptions, connectTimeout: opts.connectTimeoutMs });
  } catch (err) {
    throw unreachable(config.address, err);
  }
  const client = new Client({ connection, namespace: config.namespace, dataConverter: opts.dataConverter });
  return { client, connection, namespace: config.namespace };
}

export async function connectWorkerConnection(opts: TemporalConfigOptions = {}): Promise<NativeConnection> {
  const config = loadTemporalConfig(opts);
  // Loaded lazily: the worker package pulls in the native core bridge, which client-only commands do not need.
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect(config.connectionOptions);
  } catch (err) {
    throw unreachable(config.address, err);
  }
}

/**
 * The local address this machine uses to reach `address` (`host:port`, `[v6]:port`): the source
 * address the kernel picks for a UDP socket connected toward it (connecting a UDP socket sends
 * nothing). The default of `worker --advertise`: on a host that reaches the Temporal server over its
 * LAN address, that is the address its peers reach it at too. Throws when the name does not resolve
 * or no route leads there.
 */
export async function localAddressToward(address: string): Promise<string> {
  const { createSocket } = await import('node:dgram');
  const { lookup } = await import('node:dns/promises');
  const colon = address.lastIndexOf(':');
  const host = (colon > 0 ? address.slice(0, colon) : address).replace(/^\[|\]$/g, '');
  const port = colon > 0 ? Number(address.slice(colon + 1)) : 7233;
  const target = await lookup(host);
  const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, target.address, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}
