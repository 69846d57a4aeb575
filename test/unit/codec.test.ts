// The encryption codec, the key sources, redaction and the codec endpoint (SPEC §7a), without Temporal.
import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  EncryptionCodec,
  EncryptionConfigError,
  EncryptionKeyError,
  generateKey,
  keyId,
  loadKeyring,
  redactSecrets,
  startCodecEndpoint,
  type Keyring,
} from '../../src/codec/index.js';
import { parseStack } from '../../src/config/index.js';
import { decodePayloadMessage, openPayload, payloadValue } from '../../src/codec/sealed-payload.js';
import proto from '@temporalio/proto';

const ring = async (key: string): Promise<Keyring> => (await loadKeyring({ create: false, env: { STACKFLOW_ENCRYPTION_KEY: key } }))!;
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('latin1') + JSON.stringify(p.metadata);

describe('EncryptionCodec', () => {
  test('seals each payload whole (AES-256-GCM, key id in the metadata) and opens it again', async () => {
    const key = generateKey();
    const codec = new EncryptionCodec(await ring(key));
    const [sealed] = await codec.encode([payload({ DB_PASSWORD: 'hunter2-secret' })]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe(keyId(Buffer.from(key, 'base64')));
    expect(text(sealed!)).not.toContain('hunter2');
    expect(text(sealed!)).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed!]);
    expect(valueOf(opened!)).toEqual({ DB_PASSWORD: 'hunter2-secret' });
    // A fresh IV each time: equal inputs give different ciphertexts.
    const [again] = await codec.encode([payload({ DB_PASSWORD: 'hunter2-secret' })]);
    expect(Buffer.compare(Buffer.from(again!.data!), Buffer.from(sealed!.data!))).not.toBe(0);
  });

  test('a key it does not hold: EncryptionKeyError naming the key id; older keys still open (rotation)', async () => {
    const [oldKey, newKey, otherKey] = [generateKey(), generateKey(), generateKey()];
    const [sealed] = await new EncryptionCodec(await ring(oldKey)).encode([payload('x')]);
    const rotated = new EncryptionCodec(await ring(`${newKey},${oldKey}`));
    expect(valueOf((await rotated.decode([sealed!]))[0]!)).toBe('x');
    expect(Buffer.from((await rotated.encode([payload('y')]))[0]!.metadata!['encryption-key-id']!).toString()).toBe(keyId(Buffer.from(newKey, 'base64')));

    const wrong = new EncryptionCodec(await ring(otherKey));
    const error = await wrong.decode([sealed!]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionKeyError);
    expect((error as EncryptionKeyError).keyId).toBe(keyId(Buffer.from(oldKey, 'base64')));
    expect((error as Error).message).toContain(`encrypted with key ${keyId(Buffer.from(oldKey, 'base64'))}, which this process does not have`);
  });

  test('a tampered payload fails authentication; clear payloads pass through', async () => {
    const codec = new EncryptionCodec(await ring(generateKey()));
    const [sealed] = await codec.encode([payload('x')]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(/fails authentication/);
    expect(await codec.decode([payload('clear')])).toEqual([payload('clear')]);
  });

  test('without a key (a worker that was not given it) it encodes in clear and opens nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'stackflow-nokey-'));
    const keyless = (await loadKeyring({ create: false, env: { XDG_CONFIG_HOME: home } }))!;
    expect(keyless.current).toBeNull();
    const codec = new EncryptionCodec(keyless);
    expect(await codec.encode([payload('x')])).toEqual([payload('x')]);
    const [sealed] = await new EncryptionCodec(await ring(generateKey())).encode([payload('x')]);
    await expect(codec.decode([sealed!])).rejects.toThrow(/it has no key/);
  });
});

describe('the light reading half (sealed-payload.ts: node:crypto and protobufjs/minimal only)', () => {
  const values = [{ stack: 'demo', services: { db: { pid: 12, error: 'a\nb', cpuPercent: null } } }, 'text', 0, [1, 'x'], null, undefined, new Uint8Array([0, 255, 7])];

  test('reads back what the SDK converter and EncryptionCodec wrote, as the SDK reads it', async () => {
    const keyring = await ring(generateKey());
    const sealed = await new EncryptionCodec(keyring).encode(values.map(payload));
    expect(sealed.map((p) => payloadValue(openPayload(p, keyring)))).toEqual(values.map((v) => valueOf(payload(v))));
    // clear payloads (STACKFLOW_ENCRYPTION=off) are read as they are
    expect(values.map((v) => payloadValue(openPayload(payload(v), null)))).toEqual(values.map((v) => valueOf(payload(v))));
  });

  test('decodes a Payload message as @temporalio/proto does', () => {
    const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
    for (const value of values) {
      const original = payload(value);
      const bytes = PayloadMessage.encode(original).finish();
      const light = decodePayloadMessage(bytes);
      const full = PayloadMessage.decode(bytes);
      expect(Object.fromEntries(Object.entries(light.metadata!).map(([k, v]) => [k, Buffer.from(v).toString()]))).toEqual(
        Object.fromEntries(Object.entries(full.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString()])),
      );
      expect(Buffer.from(light.data ?? []).equals(Buffer.from(full.data ?? []))).toBe(true);
    }
  });

  test('a sealed payload with encryption off, a missing key or an unknown encoding: errors that say so', async () => {
    const keyring = await ring(generateKey());
    const [sealed] = await new EncryptionCodec(keyring).encode([payload({ a: 1 })]);
    expect(() => openPayload(sealed!, null)).toThrow(/encrypted with key sf-[0-9a-f]{16}, but STACKFLOW_ENCRYPTION=off/);
    expect(() => openPayload(sealed!, { ...keyring, keys: new Map() })).toThrow(EncryptionKeyError);
    expect(() => payloadValue({ metadata: { encoding: Buffer.from('binary/protobuf') }, data: new Uint8Array() })).toThrow('Unknown encoding: binary/protobuf');
  });
});

describe('loadKeyring', () => {
  test('creates the key file with mode 0600 on first use, says where once, and reads it after', async () => {
    const home = mkdtempSync(join(tmpdir(), 'stackflow-key-'));
    const said: string[] = [];
    const first = (await loadKeyring({ create: true, env: { XDG_CONFIG_HOME: home }, log: (l) => said.push(l) }))!;
    const file = join(home, 'stackflow', 'key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(said).toEqual([expect.stringContaining(`Created the encryption key ${file} (mode 0600)`)]);
    const second = (await loadKeyring({ create: true, env: { XDG_CONFIG_HOME: home }, log: (l) => said.push(l) }))!;
    expect(second.current!.id).toBe(first.current!.id);
    expect(said).toHaveLength(1);
    expect(said[0]).not.toContain(first.current!.key.toString('base64'));
  });

  test('bad settings name the variable and the fix, never the key', async () => {
    await expect(loadKeyring({ create: false, env: { STACKFLOW_ENCRYPTION: 'maybe' } })).rejects.toThrow(
      new EncryptionConfigError('STACKFLOW_ENCRYPTION=maybe: use "on" (the default) or "off"'),
    );
    const short = randomBytes(16).toString('base64');
    const error = await loadKeyring({ create: false, env: { STACKFLOW_ENCRYPTION_KEY: short } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionConfigError);
    expect((error as Error).message).toBe(
      'STACKFLOW_ENCRYPTION_KEY: key 1 is not base64 of 32 bytes (it decodes to 16); make one with `openssl rand -base64 32`',
    );
    expect(await loadKeyring({ create: true, env: { STACKFLOW_ENCRYPTION: 'off' } })).toBeNull();
  });
});

describe('redactSecrets', () => {
  const spec = { name: 'app', env: { LOG_LEVEL: 'info', DB_PASSWORD: 'hunter2-secret', PIN: '42' }, publicEnv: ['LOG_LEVEL'] };

  test('hides secret env values (names stay) and the same secrets anywhere else in the value', () => {
    const known = new Set<string>();
    const shown = redactSecrets({ spec, note: 'failed: password hunter2-secret rejected', pin: '42' }, known);
    expect(shown).toEqual({
      spec: { name: 'app', env: { LOG_LEVEL: 'info', DB_PASSWORD: '***', PIN: '***' }, publicEnv: ['LOG_LEVEL'] },
      note: 'failed: password *** rejected',
      // Too short to search for in other text without hiding innocent digits.
      pin: '42',
    });
    // Remembered: a later payload (a summary decoded on its own) is scrubbed too.
    expect(redactSecrets('spawn app: --password=hunter2-secret', known)).toBe('spawn app: --password=***');
  });
});

describe('the codec endpoint', () => {
  test('POST /decode opens payloads with secrets hidden, /encode seals, CORS for loopback origins only', async () => {
    const codec = new EncryptionCodec(await ring(generateKey()));
    const endpoint = await startCodecEndpoint({ codec, port: 0 });
    try {
      const [sealed] = await codec.encode([payload({ spec: { env: { TOKEN: 'tok-123456' }, publicEnv: [] } })]);
      const json = (p: Payload) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from(p.data!).toString('base64'),
      });
      const post = (path: string, body: unknown, origin = 'http://127.0.0.1:8233') =>
        fetch(`${endpoint.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin, 'x-namespace': 'default' }, body: JSON.stringify(body) });

      const decoded = await post('/decode', { payloads: [json(sealed!)] });
      expect(decoded.status).toBe(200);
      expect(decoded.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
      const [out] = ((await decoded.json()) as { payloads: { data: string }[] }).payloads;
      expect(JSON.parse(Buffer.from(out!.data, 'base64').toString())).toEqual({ spec: { env: { TOKEN: '***' }, publicEnv: [] } });

      const encoded = await post('/encode', { payloads: [json(payload('x'))] }, 'https://evil.example');
      expect(encoded.headers.get('access-control-allow-origin')).toBeNull();
      const [back] = ((await encoded.json()) as { payloads: { metadata: Record<string, string> }[] }).payloads;
      expect(Buffer.from(back!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');

      const preflight = await fetch(`${endpoint.url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
      expect((await post('/decode', { nope: true })).status).toBe(400);
    } finally {
      await endpoint.close();
    }
  });
});

describe('publicEnv', () => {
  test('literals of env: and injected names are public; env_file values and interpolations are not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackflow-public-'));
    writeFileSync(join(dir, 'app.env'), 'DB_PASSWORD=s3cret\nSHARED=from-file\n');
    const yaml = JSON.stringify({
      env: { LOG_LEVEL: 'info', REGION: '${REGION}' },
      services: {
        db: { command: 'x', port: 5000 },
        app: { command: 'x', depends_on: ['db'], env_file: 'app.env', env: { TOKEN: '${TOKEN}', MODE: 'dev' } },
      },
    });
    const { spec } = parseStack(yaml, { file: join(dir, 'stack.yaml'), env: { TOKEN: 't', REGION: 'eu' } });
    expect(spec.services.app!.publicEnv.sort()).toEqual(['DB_HOST', 'DB_PORT', 'DB_URL', 'LOG_LEVEL', 'MODE', 'STACKFLOW_SERVICE', 'STACKFLOW_STACK'].sort());
    expect(spec.services.db!.publicEnv.sort()).toEqual(['LOG_LEVEL', 'PORT', 'STACKFLOW_SERVICE', 'STACKFLOW_STACK'].sort());
  });
});
