// `stackflow worker [--host id] [--advertise address]`: a worker in the foreground. SIGINT/SIGTERM
// shut it down gracefully; the services it supervises keep running and the next worker adopts them.
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { connectWorkerConnection, loadTemporalConfig, localAddressToward } from '../../temporal/index.js';
import { escapeControl } from '../../config/index.js';
import { createStackflowWorker } from '../../worker.js';
import { DEFAULT_HOST } from '../../model.js';
import { createWorkerLogger, installWorkerRuntime, logDestination } from '../../log.js';
import { logLevelFrom } from '../../log-level.js';
import { CliError, debugRequested, EXIT } from '../errors.js';
import { codecEndpointFromEnv, encryptionFromEnv, taskQueueFromEnv } from '../session.js';

export interface WorkerOptions {
  /** Defaults to DEFAULT_HOST, the host of services whose stack file names none. */
  host?: string;
  /** The address other hosts reach this host's services at; default: the local address toward the Temporal server. */
  advertise?: string;
}

/** A host name or an IP address: what `--advertise` accepts (RFC 1123 labels). */
const HOST_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * Runs the worker until SIGINT/SIGTERM (exit 0). Its lines, and the SDK's, go through one pino
 * logger on stdout (src/log.ts: JSON lines unless stdout is a terminal; level from
 * STACKFLOW_LOG_LEVEL or `--debug`). Errors: a malformed `--advertise` or setting, exit 2.
 */
export async function worker(options: WorkerOptions): Promise<number> {
  if (options.advertise !== undefined && !isIP(options.advertise) && !HOST_NAME.test(options.advertise)) {
    throw new CliError(escapeControl(`--advertise: expected an IP address or a host name (e.g. 10.0.0.5, gpu1.lan), got "${options.advertise}"`), EXIT.usage);
  }
  const host = options.host ?? DEFAULT_HOST;
  const taskQueue = taskQueueFromEnv();
  const log = createWorkerLogger(logLevelFrom(process.env, debugRequested()), logDestination());
  installWorkerRuntime(log);
  // The worker of this machine (host `local`) may create the key, as `up` does; a worker for another
  // host never does: without the key it reports the key id its tasks need instead of inventing one.
  const { keyring, dataConverter } = await encryptionFromEnv(host === DEFAULT_HOST, (line) => log.info(line));
  const endpoint = codecEndpointFromEnv();
  const connection = await connectWorkerConnection({});
  try {
    const advertise = options.advertise ?? (await defaultAdvertise(loadTemporalConfig().address, log));
    const stackflowWorker = await createStackflowWorker({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
      taskQueue,
      host,
      advertise,
      dataConverter,
      ...(endpoint ? { codecEndpoint: endpoint } : {}),
      log: (line) => log.warn(line),
    });
    if (keyring === null) log.info('Payload encryption is off (STACKFLOW_ENCRYPTION=off).');
    else if (keyring.current === null) {
      log.warn({ keyFile: keyring.keyFile }, `no encryption key (STACKFLOW_ENCRYPTION_KEY unset, no ${keyring.keyFile}): this worker cannot read encrypted stacks.`);
    } else log.info({ keyId: keyring.current.id }, `Payloads encrypted with key ${keyring.current.id} (from ${keyring.source}).`);
    if (stackflowWorker.codecEndpoint) log.info({ codecEndpoint: stackflowWorker.codecEndpoint.url }, `Codec endpoint for the Web UI: ${stackflowWorker.codecEndpoint.url}`);
    // Last: tests and scripts take this line as "the worker is up".
    log.info({ host, advertise, taskQueue }, `stackflow worker for host "${host}" (advertised at ${advertise}) on task queue ${taskQueue}`);
    await stackflowWorker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}

/** The local address toward the Temporal server; loopback (with a warning) when there is no route to tell. */
async function defaultAdvertise(temporalAddress: string, log: Logger): Promise<string> {
  try {
    return await localAddressToward(temporalAddress);
  } catch (err) {
    log.warn(
      escapeControl(`no local address toward ${temporalAddress} (${(err as Error).message}): advertising 127.0.0.1; give --advertise <address> for dependents on other hosts.`),
    );
    return '127.0.0.1';
  }
}
