// `stackflow worker [--host id]`: a worker in the foreground. SIGINT/SIGTERM shut it down
// gracefully; the services it supervises keep running and the next worker adopts them.
import { connectWorkerConnection } from '../../temporal/index.js';
import { createStackflowWorker } from '../../worker.js';
import { DEFAULT_HOST } from '../../workflows/definitions.js';
import { EXIT } from '../errors.js';
import { codecEndpointFromEnv, encryptionFromEnv, taskQueueFromEnv } from '../session.js';

/** `host` defaults to DEFAULT_HOST, the host of services whose stack file names none. */
export async function worker(options: { host?: string }): Promise<number> {
  const host = options.host ?? DEFAULT_HOST;
  // The worker of this machine (host `local`) may create the key, as `up` does; a worker for another
  // host never does: without the key it reports the key id its tasks need instead of inventing one.
  const { keyring, dataConverter } = await encryptionFromEnv(host === DEFAULT_HOST, console.log);
  const endpoint = codecEndpointFromEnv();
  const connection = await connectWorkerConnection({});
  try {
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: taskQueueFromEnv(),
      host,
      dataConverter,
      ...(endpoint ? { codecEndpoint: endpoint } : {}),
      log: console.log,
    });
    if (keyring === null) console.log('Payload encryption is off (STACKFLOW_ENCRYPTION=off).');
    else if (keyring.current === null) {
      console.log(`Warning: no encryption key (STACKFLOW_ENCRYPTION_KEY unset, no ${keyring.keyFile}): this worker cannot read encrypted stacks.`);
    } else console.log(`Payloads encrypted with key ${keyring.current.id} (from ${keyring.source}).`);
    if (stackflowWorker.codecEndpoint) console.log(`Codec endpoint for the Web UI: ${stackflowWorker.codecEndpoint.url}`);
    // Last: tests and scripts take this line as "the worker is up".
    console.log(`stackflow worker for host "${host}" on task queue ${taskQueueFromEnv()}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
