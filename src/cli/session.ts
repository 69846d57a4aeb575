// What a command needs from Temporal: a reachable server (the embedded one by default), a client,
// and the task queue; plus the background worker that `up -d` leaves behind.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { StackClient } from '../client.js';
import {
  codecCorsOrigins,
  codecEndpointPort,
  codecEndpointUrl,
  EncryptionConfigError,
  stackflowDataConverter,
  type Keyring,
} from '../codec/index.js';
import { connectClient, connectWorkerConnection, ensureTemporal, findTemporal } from '../temporal/index.js';
import { DEFAULT_HOST } from '../model.js';
import { livePid, stopPidFile, workerPidFile, writePidFile } from '../process/pidfile.js';
import { withFileLock } from '../temporal/lock.js';
import { CLI_ENTRY_PATH } from '../paths.js';
import { ensureHome } from '../home.js';
import { logLevelFrom } from '../log-level.js';
import { CliError, debugRequested, EXIT } from './errors.js';
import { keyringFromEnv, taskQueueFromEnv } from './reads.js';

export { noServerMessage, QUERY_DEADLINE_MS, requireWorker, taskQueueFromEnv } from './reads.js';

export interface Session {
  address: string;
  namespace: string;
  taskQueue: string;
  uiUrl: string | null;
  client: Client;
  connection: Connection;
  stacks: StackClient;
  /** The data converter of this session's client, which its in-process worker shares. */
  dataConverter: DataConverter;
  close(): Promise<void>;
}

export interface Encryption {
  /** null: STACKFLOW_ENCRYPTION=off. */
  keyring: Keyring | null;
  dataConverter: DataConverter;
}

/**
 * The encryption settings of this process (SPEC §7a). `createKey`: the command starts a stack, so it
 * may create the key file (its path is told through `log`). A bad setting is a usage error (exit 2).
 */
export async function encryptionFromEnv(createKey: boolean, log: (line: string) => void): Promise<Encryption> {
  const keyring = await keyringFromEnv(createKey, log);
  return { keyring, dataConverter: stackflowDataConverter(keyring) };
}

/** The codec endpoint settings from STACKFLOW_CODEC_ENDPOINT (exit 2 when malformed); null: off. */
export function codecEndpointFromEnv(): { port: number; extraOrigins: string[] } | null {
  try {
    const port = codecEndpointPort();
    return port === null ? null : { port, extraOrigins: codecCorsOrigins() };
  } catch (err) {
    if (err instanceof EncryptionConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/**
 * A session on the stack's Temporal server: the embedded one is started when needed (`up`,
 * `worker`). Errors as ensureTemporal's (exit codes mapped in cli/errors.ts).
 * `createKey`: this command starts a stack (`up`), so it creates the encryption key file when there is
 * no key yet; other commands use the key there is and fail naming the key id a stack needs.
 */
export async function openSession(home: string, log: (line: string) => void, { createKey = false } = {}): Promise<Session> {
  // Read by the worker this command may start (in process or in the background): a bad value stops
  // the command here, before a server starts.
  logLevelFrom(process.env, debugRequested());
  const { dataConverter } = await encryptionFromEnv(createKey, log);
  const endpoint = codecEndpointFromEnv();
  // Port 0 (any free port) cannot be told to a server that outlives this worker: no codec endpoint then.
  const codecEndpoint = endpoint && endpoint.port !== 0 ? { codecEndpoint: codecEndpointUrl(endpoint.port) } : {};
  return connectSession(await ensureTemporal({ home, log, ...codecEndpoint }), dataConverter);
}

/**
 * For the commands that read or stop (`status`, `down`, `restart`, `reload`): a session when a
 * server answers, null when none runs at the default address; never starts one.
 */
export async function findSession(home: string, log: (line: string) => void): Promise<Session | null> {
  const { dataConverter } = await encryptionFromEnv(false, log);
  const temporal = await findTemporal({ home, log });
  return temporal && connectSession(temporal, dataConverter);
}

async function connectSession(temporal: { address: string; uiUrl: string | null }, dataConverter: DataConverter): Promise<Session> {
  const { client, connection, namespace } = await connectClient({ address: temporal.address, dataConverter });
  const taskQueue = taskQueueFromEnv();
  return {
    address: temporal.address,
    namespace,
    taskQueue,
    uiUrl: temporal.uiUrl,
    client,
    connection,
    stacks: new StackClient(client, taskQueue),
    dataConverter,
    close: () => connection.close(),
  };
}

/**
 * Starts `stackflow worker` in the background unless one of ours already runs for this home. Under
 * `<home>/worker.lock`, so two `up -d` at the same moment start one worker: the second finds the
 * first one's pid file.
 */
export async function ensureBackgroundWorker(home: string, session: Session): Promise<{ pid: number; started: boolean }> {
  await ensureHome(home);
  return withFileLock(join(home, 'worker.lock'), () => startBackgroundWorker(home, session));
}

async function startBackgroundWorker(home: string, session: Session): Promise<{ pid: number; started: boolean }> {
  const running = await livePid(workerPidFile(home));
  if (running !== null) return { pid: running, started: false };
  // execa's types list descriptors up to 9 only; any open descriptor is passed to spawn unchanged.
  const { execa } = await import('execa');
  const logFd = openSync(join(home, 'worker.log'), 'a') as 9;
  const child = execa(process.execPath, [CLI_ENTRY_PATH, 'worker', '--host', DEFAULT_HOST], {
    detached: true,
    cleanup: false,
    reject: false,
    stdin: 'ignore',
    stdout: logFd,
    stderr: logFd,
    env: {
      TEMPORAL_ADDRESS: session.address,
      TEMPORAL_NAMESPACE: session.namespace,
      STACKFLOW_TASK_QUEUE: session.taskQueue,
      // The level of the command that starts it (`up -d --debug`: debug).
      STACKFLOW_LOG_LEVEL: logLevelFrom(process.env, debugRequested()),
    },
  });
  closeSync(logFd);
  child.unref();
  if (!child.pid) throw new CliError(`could not start the background worker (see ${join(home, 'worker.log')})`, EXIT.failure);
  try {
    await writePidFile(workerPidFile(home), child.pid);
  } catch (err) {
    // Without its pid file no later command could find or stop this worker: it goes with the error.
    child.kill('SIGKILL');
    throw err;
  }
  return { pid: child.pid, started: true };
}

export async function hasBackgroundWorker(home: string): Promise<boolean> {
  return (await livePid(workerPidFile(home))) !== null;
}

export function stopBackgroundWorker(home: string): Promise<boolean> {
  return stopPidFile(workerPidFile(home), 15_000);
}

export interface InProcessWorker {
  stop(): Promise<void>;
}

/**
 * A worker inside this CLI process (foreground `up`, or `down` when no worker runs). It ignores
 * Ctrl-C: the command drains the stack first, which needs the worker, then stops it. It logs to
 * `<home>/worker.log`, like the background worker.
 */
export async function startInProcessWorker(session: Session, home: string): Promise<InProcessWorker> {
  await ensureHome(home);
  // Loaded here, not at the top: the worker SDK (its native bridge) is heavy and most commands never need it.
  const [{ createWorkerLogger, installWorkerRuntime, logDestination }, { createStackflowWorker }] = await Promise.all([
    import('../log.js'),
    import('../worker.js'),
  ]);
  // The terminal belongs to the progress view and the services' logs: the worker logs to the file only.
  const log = createWorkerLogger(logLevelFrom(process.env, debugRequested()), logDestination({ file: join(home, 'worker.log') }));
  // The command drains the stack on Ctrl-C, which needs the worker: the Runtime must not stop it first.
  installWorkerRuntime(log, { shutdownSignals: [] });
  const connection = await connectWorkerConnection({ address: session.address });
  const endpoint = codecEndpointFromEnv();
  const worker = await createStackflowWorker({
    connection,
    namespace: session.namespace,
    taskQueue: session.taskQueue,
    host: DEFAULT_HOST,
    dataConverter: session.dataConverter,
    ...(endpoint ? { codecEndpoint: endpoint } : {}),
    log: (line) => log.warn(line),
  });
  log.info({ host: DEFAULT_HOST, taskQueue: session.taskQueue }, `in-process worker for host "${DEFAULT_HOST}" on task queue ${session.taskQueue}`);
  const running = worker.run();
  return {
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
