// Where stackflow's encryption keys come from (SPEC §7a): STACKFLOW_ENCRYPTION_KEY, else the key file
// `${XDG_CONFIG_HOME:-~/.config}/stackflow/key`, created with mode 0600 by the first command that
// starts a stack. Workers never create a key: one without the key must fail loudly, not invent its own.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EncryptionConfigError } from './errors.js';

/** AES-256: 32-byte keys. */
export const KEY_BYTES = 32;

export interface EncryptionKey {
  /** Derived from the key itself (see keyId), so every copy of a key has the same id. */
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** New payloads are sealed with this key; null for a process that holds no key (decrypts nothing). */
  current: EncryptionKey | null;
  /** Every key this process can decrypt with, by id: the current one and older ones kept for rotation. */
  keys: ReadonlyMap<string, EncryptionKey>;
  /** Where the keys came from, for messages: `STACKFLOW_ENCRYPTION_KEY` or the key file's path. */
  source: string;
  /** The key file path, named in messages about a missing key. */
  keyFile: string;
}

/**
 * The public id of a key: `sf-` and 16 hex digits of SHA-256 over a label and the key. It names the
 * key in payload metadata and in errors without revealing anything usable about it.
 */
export function keyId(key: Buffer): string {
  return `sf-${createHash('sha256').update('stackflow encryption key id\0').update(key).digest('hex').slice(0, 16)}`;
}

/** `${XDG_CONFIG_HOME:-~/.config}/stackflow/key` (XDG Base Directory spec). */
export function keyFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'stackflow', 'key');
}

/** A new random key as the base64 text STACKFLOW_ENCRYPTION_KEY and the key file hold. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Keys written as base64 of 32 bytes, separated by commas, spaces or new lines; `#` starts a comment
 * line. The first key is current, the others only decrypt (rotation). Throws EncryptionConfigError
 * naming `origin` and the entry's position, never the entry itself.
 */
export function parseKeys(text: string, origin: string): EncryptionKey[] {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (entries.length === 0) throw new EncryptionConfigError(`${origin} holds no key (expected base64 of ${KEY_BYTES} bytes; make one with \`openssl rand -base64 32\`)`);
  return entries.map((entry, index) => {
    const key = Buffer.from(entry, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(entry) || key.length !== KEY_BYTES) {
      throw new EncryptionConfigError(
        `${origin}: key ${index + 1} is not base64 of ${KEY_BYTES} bytes (it decodes to ${key.length}); make one with \`openssl rand -base64 32\``,
      );
    }
    return { id: keyId(key), key };
  });
}

function keyring(keys: EncryptionKey[], source: string, keyFile: string): Keyring {
  return { current: keys[0] ?? null, keys: new Map(keys.map((k) => [k.id, k])), source, keyFile };
}

export interface LoadKeyringOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Create the key file when no key exists (commands that start a stack); false leaves the keyring empty. */
  create: boolean;
  /** Told once, when the key file is created: its path (never the key). */
  log?: (line: string) => void;
}

/**
 * The keyring of this process, or null when `STACKFLOW_ENCRYPTION=off`. Throws EncryptionConfigError
 * for a bad STACKFLOW_ENCRYPTION value, a malformed key, or a key file that cannot be read or created.
 */
export async function loadKeyring(opts: LoadKeyringOptions): Promise<Keyring | null> {
  const env = opts.env ?? process.env;
  const mode = (env.STACKFLOW_ENCRYPTION || 'on').toLowerCase();
  if (mode === 'off') return null;
  if (mode !== 'on') throw new EncryptionConfigError(`STACKFLOW_ENCRYPTION=${env.STACKFLOW_ENCRYPTION}: use "on" (the default) or "off"`);
  const file = keyFilePath(env);
  if (env.STACKFLOW_ENCRYPTION_KEY) {
    return keyring(parseKeys(env.STACKFLOW_ENCRYPTION_KEY, 'STACKFLOW_ENCRYPTION_KEY'), 'STACKFLOW_ENCRYPTION_KEY', file);
  }
  const text = await readKeyFile(file);
  if (text !== null) return keyring(parseKeys(text, file), file, file);
  if (!opts.create) return keyring([], 'no key', file);
  return keyring(parseKeys(await createKeyFile(file, opts.log), file), file, file);
}

async function readKeyFile(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EncryptionConfigError(`cannot read the encryption key file ${file}: ${(err as Error).message}`);
  }
}

/** Writes a new key with mode 0600, exclusively: of two processes racing, the second reads the first's key. */
async function createKeyFile(file: string, log?: (line: string) => void): Promise<string> {
  const dir = join(file, '..');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
    log?.(`Created the encryption key ${file} (mode 0600). Workers on other hosts need it: copy the file, or set STACKFLOW_ENCRYPTION_KEY to its contents.`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new EncryptionConfigError(`cannot create the encryption key file ${file}: ${(err as Error).message}`);
    }
  }
  return readFile(file, 'utf8');
}
