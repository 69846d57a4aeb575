// `stackflow worker [--host id]`: a worker in the foreground. SIGINT/SIGTERM shut it down
// gracefully; the services it supervises keep running and the next worker adopts them.
import { connectWorkerConnection } from '../../temporal/index.js';
import { createStackflowWorker } from '../../worker.js';
import { EXIT } from '../errors.js';
import { taskQueueFromEnv } from '../session.js';

export async function worker(options: { host: string }): Promise<number> {
  const connection = await connectWorkerConnection({});
  try {
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: taskQueueFromEnv(),
      host: options.host,
    });
    console.log(`stackflow worker for host "${options.host}" on task queue ${taskQueueFromEnv()}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
