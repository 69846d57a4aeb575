// The reading half of stackflow's payload encryption (SPEC §7a) with nothing but node:crypto and
// protobufjs's minimal reader: what the CLI's light read path (`status` over Temporal's HTTP API)
// needs to turn a payload back into a value without loading the Temporal SDK. EncryptionCodec
// (encryption-codec.ts) seals and opens with the same functions.
import { createDecipheriv } from 'node:crypto';
import protobuf from 'protobufjs/minimal.js';
import type { Payload } from '@temporalio/common';
import { EncryptionKeyError } from './errors.js';
import type { Keyring } from './keys.js';

/** The metadata key naming a payload's encoding (@temporalio/common's METADATA_ENCODING_KEY). */
export const METADATA_ENCODING = 'encoding';
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
/** NIST SP 800-38D: a 96-bit IV, random per payload; a 128-bit tag. */
export const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** True for a payload this codec sealed (whatever the key). */
export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.[METADATA_ENCODING]) === ENCRYPTED_ENCODING;
}

/** The id of the key a sealed payload needs; undefined for a clear one. */
export function payloadKeyId(payload: Payload): string | undefined {
  return isEncrypted(payload) ? text(payload.metadata?.[METADATA_KEY_ID]) : undefined;
}

/** The additional authenticated data of a sealed payload: its key id, so relabelling it fails decryption. */
export const sealedAad = (keyId: string): Buffer => utf8(keyId);

/**
 * The clear bytes inside a sealed payload: the original Payload message, proto-serialised
 * (temporal.api.common.v1.Payload). `data` is IV (12 bytes) + ciphertext + GCM tag (16 bytes).
 * Throws EncryptionKeyError when `keyring` lacks the payload's key or the payload fails authentication.
 */
export function openSealedBytes(payload: Payload, keyring: Keyring): Buffer {
  const id = text(payload.metadata?.[METADATA_KEY_ID]) ?? '(none)';
  const found = keyring.keys.get(id);
  if (!found) throw missingKey(id, keyring);
  const data = Buffer.from(payload.data ?? new Uint8Array());
  try {
    const decipher = createDecipheriv('aes-256-gcm', found.key, data.subarray(0, IV_BYTES));
    decipher.setAAD(sealedAad(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
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
 * A proto-serialised temporal.api.common.v1.Payload: `metadata` (field 1, map<string, bytes>) and
 * `data` (field 2, bytes). Other fields (external payload details, which stackflow never writes)
 * are skipped.
 */
export function decodePayloadMessage(bytes: Uint8Array): Payload {
  const reader = protobuf.Reader.create(bytes);
  const metadata: Record<string, Uint8Array> = {};
  let data: Uint8Array | undefined;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) {
      // a map entry: key (1, string), value (2, bytes)
      const end = reader.uint32() + reader.pos;
      let key = '';
      let value: Uint8Array = new Uint8Array();
      while (reader.pos < end) {
        const entryTag = reader.uint32();
        if (entryTag >>> 3 === 1) key = reader.string();
        else if (entryTag >>> 3 === 2) value = reader.bytes();
        else reader.skipType(entryTag & 7);
      }
      metadata[key] = value;
    } else if (tag >>> 3 === 2) data = reader.bytes();
    else reader.skipType(tag & 7);
  }
  return { metadata, ...(data === undefined ? {} : { data }) };
}

/** What a process with STACKFLOW_ENCRYPTION=off meets in sealed payload `sealed` of `what` (`stack demo`): the key id it needs. */
export function encryptionOffError(sealed: Payload, what = 'this history'): EncryptionKeyError {
  const id = payloadKeyId(sealed) ?? '(none)';
  return new EncryptionKeyError(`${what} is encrypted with key ${id}, but STACKFLOW_ENCRYPTION=off: unset it and give this process that key`, id);
}

/** `payload` opened with `keyring` when sealed; null keyring (STACKFLOW_ENCRYPTION=off) and a sealed payload: EncryptionKeyError. */
export function openPayload(payload: Payload, keyring: Keyring | null): Payload {
  if (!isEncrypted(payload)) return payload;
  if (!keyring) throw encryptionOffError(payload);
  return decodePayloadMessage(openSealedBytes(payload, keyring));
}

/**
 * The value of a clear payload, as the SDK's default payload converter reads it
 * (@temporalio/common DefaultPayloadConverter): `binary/null` → undefined, `binary/plain` → the
 * bytes, `json/plain` → JSON.parse of the UTF-8 data. Any other encoding throws, as there.
 */
export function payloadValue(payload: Payload): unknown {
  const encoding = text(payload.metadata?.[METADATA_ENCODING]);
  if (encoding === 'binary/null') return undefined;
  if (encoding === 'binary/plain') return payload.data ?? new Uint8Array();
  if (encoding === 'json/plain') {
    if (payload.data === undefined || payload.data === null) throw new Error('Got payload with no data');
    return JSON.parse(text(payload.data)!);
  }
  throw new Error(`Unknown encoding: ${encoding}`);
}
