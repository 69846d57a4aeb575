// AES-256-GCM payload codec (SPEC §7a), Node's crypto. The whole original payload (metadata and data,
// proto-serialised) is sealed, so not even its encoding shows; the outer payload says only
// `binary/encrypted`, the cipher and the key id, so keys can rotate (temporalio/samples-typescript
// `encryption` uses the same metadata names, and the Web UI's codec endpoint contract expects them).
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { EncryptionKey, Keyring } from './keys.js';
import {
  CIPHER,
  ENCRYPTED_ENCODING,
  isEncrypted,
  IV_BYTES,
  METADATA_CIPHER,
  METADATA_ENCODING,
  METADATA_KEY_ID,
  openSealedBytes,
  sealedAad,
} from './sealed-payload.js';

export { CIPHER, ENCRYPTED_ENCODING, isEncrypted, METADATA_CIPHER, METADATA_KEY_ID, payloadKeyId } from './sealed-payload.js';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

const utf8 = (text: string) => Buffer.from(text, 'utf8');

function seal(payload: Payload, { id, key }: EncryptionKey): Payload {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The key id is authenticated too: relabelling a payload with another id fails decryption.
  cipher.setAAD(sealedAad(id));
  const sealed = Buffer.concat([cipher.update(PayloadMessage.encode(payload).finish()), cipher.final()]);
  return {
    metadata: {
      [METADATA_ENCODING]: utf8(ENCRYPTED_ENCODING),
      [METADATA_CIPHER]: utf8(CIPHER),
      [METADATA_KEY_ID]: utf8(id),
    },
    data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
  };
}

/** The original payload inside a sealed one (the full message: any field the SDK sets survives). */
function open(payload: Payload, keyring: Keyring): Payload {
  return PayloadMessage.decode(openSealedBytes(payload, keyring));
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
