// Where the Temporal server is and how to reach it, from the environment and the client config file:
// no SDK client here, so the commands' light read path can know the address without loading it.
import type { ConnectionOptions, Metadata } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { InvalidSettingError } from './errors.js';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** The options both `Connection` (client) and `NativeConnection` (worker) accept. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
  metadata?: Metadata;
}

export interface TemporalConfig {
  address: string;
  /** Where the address came from; only `default` lets stackflow start its own server. */
  addressSource: 'override' | 'env' | 'config-file' | 'default';
  namespace: string;
  connectionOptions: TemporalConnectionOptions;
}

export interface TemporalConfigOptions {
  /** Wins over TEMPORAL_ADDRESS and the client config file. */
  address?: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Connection settings from `@temporalio/envconfig`: the Temporal client config file
 * (TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE) overridden by TEMPORAL_* variables (address,
 * namespace, TLS, API key), with stackflow's defaults for address and namespace.
 * @throws InvalidSettingError (exit 2) when the address is not `host:port` (port 1–65535), naming
 *   where it came from, before anything connects or starts.
 */
export function loadTemporalConfig(opts: TemporalConfigOptions = {}): TemporalConfig {
  const env = opts.env ?? process.env;
  // An empty variable counts as unset, as in most shells' `${VAR:-default}`.
  const setEnv = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: setEnv });
  const configured = connectionOptions.address;
  const address = opts.address ?? configured ?? DEFAULT_TEMPORAL_ADDRESS;
  const addressSource =
    opts.address !== undefined ? 'override' : setEnv.TEMPORAL_ADDRESS ? 'env' : configured ? 'config-file' : 'default';
  if (!isHostPort(address)) {
    const where = { override: 'the Temporal address', env: 'TEMPORAL_ADDRESS', 'config-file': "the Temporal client config file's address", default: 'the default address' }[addressSource];
    throw new InvalidSettingError(
      `${where}: ${JSON.stringify(address)} is not host:port with a port from 1 to 65535 ` +
        `(e.g. TEMPORAL_ADDRESS=127.0.0.1:7233 or temporal.example.com:7233; unset it to let stackflow start a local dev server)`,
    );
  }
  return {
    address,
    addressSource,
    namespace: namespace ?? DEFAULT_TEMPORAL_NAMESPACE,
    connectionOptions: {
      address,
      tls: connectionOptions.tls,
      apiKey: connectionOptions.apiKey,
      metadata: connectionOptions.metadata,
    },
  };
}


/** `host:port` or `[v6]:port` with a non-empty host and a decimal port from 1 to 65535. */
export function isHostPort(address: string): boolean {
  const match = /^(\[[^\]]+\]|[^:\s\[\]]+):(\d{1,5})$/.exec(address);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}
