/** Stops the Temporal dev server that global-setup.ts started (if it started one) and removes its log. */
import { rm } from 'node:fs/promises';

const SERVER_KEY = Symbol.for('stackflow.test.temporalServer');

interface TestServer {
  stop(): Promise<void>;
  logFile: string;
}

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as Record<symbol, unknown>)[SERVER_KEY] as TestServer | undefined;
  if (server === undefined) return;
  await server.stop();
  await rm(server.logFile, { force: true });
}
