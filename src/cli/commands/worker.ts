// `stackflow worker [--host id] [--advertise address]`: a worker in the foreground. SIGINT/SIGTERM
// shut it down gracefully; the services it supervises keep running and the next worker adopts them.
import { isIP } from 'node:net';
import { connectWorkerConnection, loadTemporalConfig, localAddressToward } from '../../temporal/index.js';
import { escapeControl } from '../../config/index.js';
import { createStackflowWorker } from '../../worker.js';
import { DEFAULT_HOST } from '../../model.js';
import { CliError, EXIT } from '../errors.js';
import { codecEndpointFromEnv, encryptionFromEnv, taskQueueFromEnv } from '../session.js';

export interface WorkerOptions {
  /** Defaults to DEFAULT_HOST, the host of services whose stack file names none. */
  host?: string;
  /** The address other hosts reach this host's services at; default: the local address toward the Temporal server. */
  advertise?: string;
}

/** A host name or an IP address: what `--advertise` accepts (RFC 1123 labels). */
const HOST_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export async function worker(options: WorkerOptions): Promise<number> {
  if (options.advertise !== undefined && !isIP(options.advertise) && !HOST_NAME.test(options.advertise)) {
    throw new CliError(escapeControl(`--advertise: expected an IP address or a host name (e.g. 10.0.0.5, gpu1.lan), got "${options.advertise}"`), EXIT.usage);
  }
  const host = options.host ?? DEFAULT_HOST;
  // The worker of this machine (host `local`) may create the key, as `up` does; a worker for another
  // host never does: without the key it reports the key id its tasks need instead of inventing one.
  const { keyring, dataConverter } = await encryptionFromEnv(host === DEFAULT_HOST, console.log);
  const endpoint = codecEndpointFromEnv();
  const connection = await connectWorkerConnection({});
  try {
    const advertise = options.advertise ?? (await defaultAdvertise(loadTemporalConfig().address));
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: taskQueueFromEnv(),
      host,
      advertise,
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
    console.log(`stackflow worker for host "${host}" (advertised at ${advertise}) on task queue ${taskQueueFromEnv()}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}

/** The local address toward the Temporal server; loopback (with a warning) when there is no route to tell. */
async function defaultAdvertise(temporalAddress: string): Promise<string> {
  try {
    return await localAddressToward(temporalAddress);
  } catch (err) {
    console.log(
      escapeControl(`Warning: no local address toward ${temporalAddress} (${(err as Error).message}): advertising 127.0.0.1; give --advertise <address> for dependents on other hosts.`),
    );
    return '127.0.0.1';
  }
}
