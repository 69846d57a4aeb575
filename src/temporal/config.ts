// Where the Temporal server is and how to reach it, from the environment and the client config file:
// no SDK client here, so the commands' light read path can know the address without loading it.
import type { ConnectionOptions, Metadata } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';

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

