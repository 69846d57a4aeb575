import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { msToTs } from '@temporalio/common/lib/time.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { connectWorkerConnection } from '../../src/temporal/connection.js';
import { findFreePort, isTemporalReachable, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { ensureSearchAttribute, ensureTemporal } from '../../src/temporal/embedded.js';
import { TemporalUnreachableError } from '../../src/temporal/errors.js';
import { isProcessAlive } from '../../src/process/terminate.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';

const KEYWORD = encodeSearchAttributeIndexedValueType('KEYWORD');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stackflow-temporal-it-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startDevServer', () => {
  let server: DevServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test('serves gRPC on the given port with the StackName search attribute, and stops', async () => {
    const port = await findFreePort();
    const dbFile = path.join(dir, 'temporal.db');
    server = await startDevServer({
      cliPath: await resolveTemporalCli({ install: false }),
      port,
      dbFile,
      logFile: path.join(dir, 'temporal.log'),
      detached: false,
    });
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(server.uiUrl).toBeNull();
    expect(await isTemporalReachable(server.address, 2000)).toBe(true);
    expect(existsSync(dbFile)).toBe(true);
    // --sqlite-pragma journal_mode=wal took effect: SQLite keeps a write-ahead log beside the database.
    expect(existsSync(`${dbFile}-wal`)).toBe(true);

    const connection = await Connection.connect({ address: server.address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(customAttributes?.StackName).toBe(KEYWORD);
    } finally {
      await connection.close();
    }

    const { pid } = server;
    await server.stop();
    server = undefined;
    expect(isProcessAlive(pid)).toBe(false);
    expect(await isTemporalReachable(`127.0.0.1:${port}`, 500)).toBe(false);
  });
});

async function registerNamespace(connection: Connection): Promise<string> {
  const namespace = `sa-test-${process.pid}-${Date.now()}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  return namespace;
}

async function stackNameType(connection: Connection, namespace: string) {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return customAttributes?.StackName;
}

describe('ensureSearchAttribute', () => {
  test('registers StackName in a namespace that lacks it, and is idempotent', async () => {
    const { connection } = await connectTestClient();
    try {
      const namespace = await registerNamespace(connection);
      expect(await stackNameType(connection, namespace)).toBeUndefined();
      await ensureSearchAttribute(connection, namespace);
      await ensureSearchAttribute(connection, namespace);
      expect(await stackNameType(connection, namespace)).toBe(KEYWORD);
    } finally {
      await connection.close();
    }
  });
});

describe('ensureTemporal', () => {
  const log = () => undefined;

  test('uses the server TEMPORAL_ADDRESS names and registers StackName in TEMPORAL_NAMESPACE there', async () => {
    const address = testTemporalAddress();
    const { connection } = await connectTestClient();
    try {
      const namespace = await registerNamespace(connection);
      const env = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
      await expect(ensureTemporal({ home: dir, log, env })).resolves.toEqual({ address, uiUrl: null, embedded: false });
      expect(await stackNameType(connection, namespace)).toBe(KEYWORD);
    } finally {
      await connection.close();
    }
  });

  test('only warns when it cannot register StackName', async () => {
    const lines: string[] = [];
    const env = { TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: 'no-such-namespace' };
    await expect(ensureTemporal({ home: dir, log: (line) => lines.push(line), env })).resolves.toMatchObject({
      embedded: false,
    });
    expect(lines).toEqual([expect.stringMatching(/^Warning: could not register the StackName search attribute.*temporal operator search-attribute create --name StackName --type Keyword --namespace no-such-namespace/)]);
  });

  test('throws TemporalUnreachableError naming the address when TEMPORAL_ADDRESS points at a closed port', async () => {
    const address = `127.0.0.1:${await findFreePort()}`;
    const attempt = ensureTemporal({ home: dir, log, env: { TEMPORAL_ADDRESS: address } });
    await expect(attempt).rejects.toBeInstanceOf(TemporalUnreachableError);
    await expect(attempt).rejects.toMatchObject({ address, exitCode: 3 });
    await expect(attempt).rejects.toThrow(`Cannot reach a Temporal server at ${address}`);
    await expect(attempt).rejects.toThrow('TEMPORAL_ADDRESS is set');
    await expect(attempt).rejects.toThrow('temporal server start-dev');
  });
});

test('connectWorkerConnection reaches the server through the native bridge', async () => {
  const connection = await connectWorkerConnection({ address: testTemporalAddress(), env: {} });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.capabilities).toBeTruthy();
  } finally {
    await connection.close();
  }
});
