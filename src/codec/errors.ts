// The two ways encryption goes wrong: a bad key setting (the user's input) and a payload sealed with
// a key this process does not hold (a runtime failure).

/** STACKFLOW_ENCRYPTION / STACKFLOW_ENCRYPTION_KEY / the key file hold something unusable (exit 2). */
export class EncryptionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionConfigError';
  }
}

/**
 * A payload cannot be decrypted: sealed with key `keyId`, which this process does not hold, or it
 * fails authentication (exit 1). The message names the key id and how to get the key.
 */
export class EncryptionKeyError extends Error {
  constructor(
    message: string,
    readonly keyId: string,
  ) {
    super(message);
    this.name = 'EncryptionKeyError';
  }
}
