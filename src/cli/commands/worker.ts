// `stackflow worker [--host id] [--advertise address]`: a worker in the foreground. SIGINT/SIGTERM
// shut it down gracefully; the services it supervises keep running and the next worker adopts them.
import { isIP } from 'node:net';
import { connectWorkerConnection, loadTemporalConfig, localAddressToward } from '../../temporal/index.js';
import { escapeControl } from '../../config/index.js';
import { createStackflowWorker } from '../../worker.js';
import { CliError, EXIT } from '../errors.js';
import { taskQueueFromEnv } from '../session.js';

export interface WorkerOptions {
  host: string;
  /** The address other hosts reach this host's services at; default: the local address toward the Temporal server. */
  advertise?: string;
}

/** A host name or an IP address: what `--advertise` accepts (RFC 1123 labels). */
const HOST_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export async function worker(options: WorkerOptions): Promise<number> {
  if (options.advertise !== undefined && !isIP(options.advertise) && !HOST_NAME.test(options.advertise)) {
    throw new CliError(escapeControl(`--advertise: expected an IP address or a host name (e.g. 10.0.0.5, gpu1.lan), got "${options.advertise}"`), EXIT.usage);
  }
  const connection = await connectWorkerConnection({});
  try {
    const advertise = options.advertise ?? (await localAddressToward(loadTemporalConfig().address));
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: taskQueueFromEnv(),
      host: options.host,
      advertise,
    });
    console.log(`stackflow worker for host "${options.host}" (advertised at ${advertise}) on task queue ${taskQueueFromEnv()}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
