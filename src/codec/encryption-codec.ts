// AES-256-GCM payload codec (SPEC §7a), Node's crypto. The whole original payload (metadata and data,
// proto-serialised) is sealed, so not even its encoding shows; the outer payload says only
// `binary/encrypted`, the cipher and the key id, so keys can rotate (temporalio/samples-typescript
// `encryption` uses the same metadata names, and the Web UI's codec endpoint contract expects them).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { EncryptionKeyError } from './errors.js';
import type { EncryptionKey, Keyring } from './keys.js';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
/** NIST SP 800-38D: a 96-bit IV, random per payload; a 128-bit tag. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** True for a payload this codec sealed (whatever the key). */
export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

/** The id of the key a sealed payload needs; undefined for a clear one. */
export function payloadKeyId(payload: Payload): string | undefined {
  return isEncrypted(payload) ? text(payload.metadata?.[METADATA_KEY_ID]) : undefined;
}

function seal(payload: Payload, { id, key }: EncryptionKey): Payload {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The key id is authenticated too: relabelling a payload with another id fails decryption.
  cipher.setAAD(utf8(id));
  const sealed = Buffer.concat([cipher.update(PayloadMessage.encode(payload).finish()), cipher.final()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
      [METADATA_CIPHER]: utf8(CIPHER),
      [METADATA_KEY_ID]: utf8(id),
    },
    data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
  };
}

function open(payload: Payload, keyring: Keyring): Payload {
  const id = text(payload.metadata?.[METADATA_KEY_ID]) ?? '(none)';
  const found = keyring.keys.get(id);
  if (!found) throw missingKey(id, keyring);
  const data = Buffer.from(payload.data ?? new Uint8Array());
  try {
    const decipher = createDecipheriv('aes-256-gcm', found.key, data.subarray(0, IV_BYTES));
    decipher.setAAD(utf8(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const clear = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    return PayloadMessage.decode(clear);
  } catch {
    throw new EncryptionKeyError(`a payload sealed with encryption key ${id} fails authentication: it was altered or truncated`, id);
  }
}

function missingKey(id: string, keyring: Keyring): EncryptionKeyError {
  const held = [...keyring.keys.keys()];
  return new EncryptionKeyError(
    `this history is encrypted with key ${id}, which this process does not have ` +
      `(${held.length ? `it has ${held.join(', ')} from ${keyring.source}` : 'it has no key'}). ` +
      `Set STACKFLOW_ENCRYPTION_KEY to that key, or copy the key file (${keyring.keyFile}) from the machine that created it.`,
    id,
  );
}

/**
 * `PayloadCodec` (@temporalio/common) sealing each payload with the keyring's current key. Decoding
 * passes clear payloads through (histories written with STACKFLOW_ENCRYPTION=off) and throws
 * EncryptionKeyError for a key it does not hold. A keyring without a current key (a worker started
 * without the key) encodes in clear: it can decrypt nothing, so all it sends are its own failures,
 * which name the key it lacks.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.keyring.current;
    return current ? payloads.map((p) => seal(p, current)) : payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? open(p, this.keyring) : p));
  }
}
