/**
 * Starts one headless, in-memory Temporal dev server for the whole jest run and publishes its
 * address as STACKFLOW_TEST_TEMPORAL_ADDRESS and its HTTP API's as STACKFLOW_TEST_TEMPORAL_HTTP_ADDRESS
 * (test workers inherit the environment). A server that is already set in
 * STACKFLOW_TEST_TEMPORAL_ADDRESS is used as is (with STACKFLOW_TEST_TEMPORAL_HTTP_ADDRESS if given).
 *
 * Jest loads globalSetup with Node's own ESM loader (no ts-jest for what it imports), so this uses
 * the compiled modules: `npm test` builds first, as the integration tests need the workflow bundle.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveTemporalCli } from '../dist/src/temporal/cli-binary.js';
import { findFreePort, startDevServer } from '../dist/src/temporal/dev-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputDir = path.join(root, 'test-output');
const SERVER_KEY = Symbol.for('stackflow.test.temporalServer');

export default async function globalSetup(): Promise<void> {
  // Tests encrypt as users do, with a key of their own: never the developer's key file or variable.
  process.env.STACKFLOW_ENCRYPTION_KEY = randomBytes(32).toString('base64');
  delete process.env.STACKFLOW_ENCRYPTION;
  // Workers the tests start serve no codec endpoint unless a test asks (the UI tests choose a free port).
  process.env.STACKFLOW_CODEC_ENDPOINT = 'off';
  if (process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS) return;
  await mkdir(outputDir, { recursive: true });
  const cliPath = await resolveTemporalCli({ log: (line) => console.log(`[temporal] ${line}`) });
  const logFile = path.join(outputDir, `temporal-test-server-${process.pid}.log`);
  const server = await startDevServer({ cliPath, port: await findFreePort(), httpPort: await findFreePort(), logFile, detached: false });
  process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.STACKFLOW_TEST_TEMPORAL_HTTP_ADDRESS = server.httpAddress!;
  // globalThis is shared with globalTeardown (same process), not with test workers.
  (globalThis as Record<symbol, unknown>)[SERVER_KEY] = { stop: server.stop, logFile };
}
