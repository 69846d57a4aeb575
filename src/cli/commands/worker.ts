// `stackflow worker [--host id]`: a worker in the foreground. SIGINT/SIGTERM shut it down
// gracefully; the services it supervises keep running and the next worker adopts them.
import { connectWorkerConnection } from '../../temporal/index.js';
import { createStackflowWorker } from '../../worker.js';
import { EXIT } from '../errors.js';
import { taskQueueFromEnv } from '../session.js';
import { DEFAULT_HOST } from '../../workflows/definitions.js';

/** `host` defaults to DEFAULT_HOST, the host of services whose stack file names none. */
export async function worker(options: { host?: string }): Promise<number> {
  const host = options.host ?? DEFAULT_HOST;
  const connection = await connectWorkerConnection({});
  try {
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: taskQueueFromEnv(),
      host,
    });
    console.log(`stackflow worker for host "${host}" on task queue ${taskQueueFromEnv()}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
