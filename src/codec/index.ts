// stackflow's data converter: encryption (SPEC §7a) for clients, workers and replay, and the settings
// of the codec endpoint the worker serves to the Web UI.
import type { DataConverter } from '@temporalio/common';
import { FAILURE_CONVERTER_PATH } from '../paths.js';
import { EncryptionCodec } from './encryption-codec.js';
import { DEFAULT_CODEC_PORT } from './endpoint.js';
import { EncryptionConfigError } from './errors.js';
import type { Keyring } from './keys.js';

export { EncryptionCodec, isEncrypted, payloadKeyId } from './encryption-codec.js';
export { DEFAULT_CODEC_PORT, startCodecEndpoint, type CodecEndpoint } from './endpoint.js';
export { EncryptionConfigError, EncryptionKeyError } from './errors.js';
export { generateKey, keyFilePath, keyId, loadKeyring, parseKeys, type Keyring } from './keys.js';
export { REDACTED, redactedEnv, redactSecrets } from './redact.js';

/**
 * The DataConverter of every stackflow Client, Worker and replay: the encryption codec unless
 * `keyring` is null (STACKFLOW_ENCRYPTION=off), and always the failure converter that moves error
 * messages into the (encrypted) `encodedAttributes`.
 */
export function stackflowDataConverter(keyring: Keyring | null): DataConverter {
  return { payloadCodecs: keyring ? [new EncryptionCodec(keyring)] : [], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/**
 * The loopback port of the codec endpoint from STACKFLOW_CODEC_ENDPOINT: unset -> 8234, `off` -> null
 * (not served; the embedded UI then shows encrypted payloads), else a port number (0: any free port,
 * which the embedded server's UI cannot be pointed at). Throws
 * EncryptionConfigError for anything else.
 */
export function codecEndpointPort(env: NodeJS.ProcessEnv = process.env): number | null {
  const value = env.STACKFLOW_CODEC_ENDPOINT;
  if (!value) return DEFAULT_CODEC_PORT;
  if (value.toLowerCase() === 'off') return null;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new EncryptionConfigError(`STACKFLOW_CODEC_ENDPOINT=${value}: give a port number (default ${DEFAULT_CODEC_PORT}) or "off"`);
  }
  return port;
}

/** The URL the Web UI calls for a codec endpoint on `port` of this machine. */
export function codecEndpointUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Origins besides loopback ones that may call the endpoint: STACKFLOW_CODEC_CORS_ORIGINS, comma-separated. */
export function codecCorsOrigins(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.STACKFLOW_CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
}
