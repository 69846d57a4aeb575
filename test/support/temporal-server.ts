import type { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { connectClient } from '../../src/temporal/connection.js';
import { loadKeyring, stackflowDataConverter } from '../../src/codec/index.js';

/**
 * stackflow's data converter with `key` (base64, as STACKFLOW_ENCRYPTION_KEY takes it); by default
 * the jest run's random key, which test/global-setup.ts puts in the environment.
 */
export async function testDataConverter(key = process.env.STACKFLOW_ENCRYPTION_KEY): Promise<DataConverter> {
  if (!key) throw new Error('STACKFLOW_ENCRYPTION_KEY is not set: run tests through jest with test/global-setup.ts');
  return stackflowDataConverter(await loadKeyring({ create: false, env: { STACKFLOW_ENCRYPTION_KEY: key } }));
}

/** Address of the dev server test/global-setup.ts started for this jest run. */
export function testTemporalAddress(): string {
  const address = process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS;
  if (!address) {
    throw new Error(
      'STACKFLOW_TEST_TEMPORAL_ADDRESS is not set: run tests through jest with test/global-setup.ts (jest.config.js globalSetup), or set it to a running Temporal server.',
    );
  }
  return address;
}

/** Address (`host:port`) of the HTTP API of the jest run's dev server (test/global-setup.ts). */
export function testTemporalHttpAddress(): string {
  const address = process.env.STACKFLOW_TEST_TEMPORAL_HTTP_ADDRESS;
  if (!address) {
    throw new Error('STACKFLOW_TEST_TEMPORAL_HTTP_ADDRESS is not set: run tests through jest with test/global-setup.ts, or set it to the HTTP API of STACKFLOW_TEST_TEMPORAL_ADDRESS.');
  }
  return address;
}

/** A client for the test server in the `default` namespace (encrypting with the run's key by default); close `connection` in afterAll. */
export async function connectTestClient(dataConverter?: DataConverter): Promise<{ client: Client; connection: Connection; namespace: string }> {
  // An empty env keeps the developer's TEMPORAL_* variables and client config file out of tests.
  return connectClient({ address: testTemporalAddress(), env: {}, dataConverter: dataConverter ?? (await testDataConverter()) });
}
