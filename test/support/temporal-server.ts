import type { Client, Connection } from '@temporalio/client';
import { connectClient } from '../../src/temporal/connection.js';

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

/** A client for the test server in the `default` namespace; close `connection` in afterAll. */
export async function connectTestClient(): Promise<{ client: Client; connection: Connection; namespace: string }> {
  // An empty env keeps the developer's TEMPORAL_* variables and client config file out of tests.
  return connectClient({ address: testTemporalAddress(), env: {} });
}
