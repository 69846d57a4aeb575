export {
  resolveTemporalCli,
  temporalCliCacheDir,
  TemporalCliNotFoundError,
  TEMPORAL_CLI_MODULE,
  TEMPORAL_CLI_VERSION,
  type ResolveTemporalCliOptions,
} from './cli-binary.js';
export {
  connectClient,
  connectWorkerConnection,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_TEMPORAL_NAMESPACE,
  loadTemporalConfig,
  localAddressToward,
  type TemporalConfig,
  type TemporalConfigOptions,
  type TemporalConnectionOptions,
} from './connection.js';
export {
  DevServerStartError,
  findFreePort,
  isTemporalReachable,
  startDevServer,
  type DevServer,
  type DevServerOptions,
} from './dev-server.js';
export {
  EMBEDDED_PORT,
  EMBEDDED_UI_PORT,
  ensureSearchAttribute,
  embeddedUiPort,
  ensureTemporal,
  findTemporal,
  lostEmbeddedServer,
  stopEmbedded,
  UI_PORT_VARIABLE,
  type EnsureTemporalOptions,
  type TemporalEndpoint,
} from './embedded.js';
export { EmbeddedDatabaseLostError, InvalidSettingError, TemporalUnreachableError } from './errors.js';
