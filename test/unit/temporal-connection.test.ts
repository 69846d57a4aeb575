import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectClient, loadTemporalConfig, localAddressToward } from '../../src/temporal/connection.js';
import { worker } from '../../src/cli/commands/worker.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { TemporalUnreachableError } from '../../src/temporal/errors.js';

describe('loadTemporalConfig', () => {
  test('defaults to 127.0.0.1:7233 and the default namespace', () => {
    expect(loadTemporalConfig({ env: {} })).toEqual({
      address: '127.0.0.1:7233',
      addressSource: 'default',
      namespace: 'default',
      connectionOptions: { address: '127.0.0.1:7233', tls: undefined, apiKey: undefined, metadata: undefined },
    });
  });

  test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE apply; an explicit address wins', () => {
    const env = { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'ops' };
    expect(loadTemporalConfig({ env })).toMatchObject({
      address: 'temporal.internal:7233',
      addressSource: 'env',
      namespace: 'ops',
    });
    expect(loadTemporalConfig({ env, address: '10.0.0.1:7000' })).toMatchObject({
      address: '10.0.0.1:7000',
      addressSource: 'override',
      connectionOptions: { address: '10.0.0.1:7000' },
    });
  });

  test('an address that is not host:port is refused naming TEMPORAL_ADDRESS, with an example (exit 2)', () => {
    for (const bogus of ['bogus', 'localhost:', ':7233', 'host:0', 'host:65536', 'host:72x3', 'a b:7233']) {
      expect(() => loadTemporalConfig({ env: { TEMPORAL_ADDRESS: bogus } })).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^TEMPORAL_ADDRESS: ".*" is not host:port .*e\.g\. TEMPORAL_ADDRESS=127\.0\.0\.1:7233/) }),
      );
    }
    expect(loadTemporalConfig({ env: { TEMPORAL_ADDRESS: '[::1]:7233' } }).address).toBe('[::1]:7233');
    expect(loadTemporalConfig({ env: { TEMPORAL_ADDRESS: 'temporal.internal:65535' } }).address).toBe('temporal.internal:65535');
  });

  test('empty variables count as unset', () => {
    expect(loadTemporalConfig({ env: { TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' } })).toMatchObject({
      address: '127.0.0.1:7233',
      addressSource: 'default',
      namespace: 'default',
    });
  });

  test('reads the Temporal client config file profile, including TLS and API key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stackflow-envconfig-'));
    try {
      const file = path.join(dir, 'temporal.toml');
      await writeFile(
        file,
        '[profile.default]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\napi_key = "k"\n',
      );
      expect(loadTemporalConfig({ env: { TEMPORAL_CONFIG_FILE: file } })).toEqual({
        address: 'ns.acct.tmprl.cloud:7233',
        addressSource: 'config-file',
        namespace: 'ns.acct',
        connectionOptions: { address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'k', metadata: undefined },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('connectClient turns a connection failure into TemporalUnreachableError', async () => {
  const address = `127.0.0.1:${await findFreePort()}`;
  const attempt = connectClient({ address, env: {}, connectTimeoutMs: 300 });
  await expect(attempt).rejects.toBeInstanceOf(TemporalUnreachableError);
  await expect(attempt).rejects.toThrow(`Cannot reach a Temporal server at ${address}`);
});

describe('the address a worker advertises', () => {
  test('is the local source address toward the server: loopback for a loopback server, with a port or without', async () => {
    await expect(localAddressToward('127.0.0.1:7233')).resolves.toBe('127.0.0.1');
    await expect(localAddressToward('localhost')).resolves.toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  test('--advertise must be an address or a host name (exit 2, before any connection)', async () => {
    await expect(worker({ advertise: 'not an address!' })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--advertise: expected an IP address or a host name'),
    });
  });
});
