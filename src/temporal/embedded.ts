import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { resolveTemporalCli } from './cli-binary.js';
import { DEFAULT_TEMPORAL_NAMESPACE, loadTemporalConfig, type TemporalConfig } from './connection.js';
import { isTemporalReachable, startDevServer } from './dev-server.js';
import { TemporalUnreachableError } from './errors.js';
import { withFileLock } from './lock.js';
import { isProcessAlive, processStartTime, terminateProcess } from '../process/terminate.js';

/** The port of DEFAULT_TEMPORAL_ADDRESS, where the embedded server listens. */
export const EMBEDDED_PORT = 7233;
export const EMBEDDED_UI_PORT = 8233;
export const STACK_NAME_SEARCH_ATTRIBUTE = 'StackName';

const REACHABLE_TIMEOUT_MS = 3_000;
const ADOPT_TIMEOUT_MS = 30_000;
/** gRPC status code. */
const ALREADY_EXISTS = 6;

export interface TemporalEndpoint {
  address: string;
  /** Known for the embedded server; for a server on the default address, when its UI answers on 8233. */
  uiUrl: string | null;
  /** True when the server is the dev server stackflow started under this STACKFLOW_HOME. */
  embedded: boolean;
}

export interface EnsureTemporalOptions {
  /** STACKFLOW_HOME: holds temporal.db, temporal.log and temporal.pid. */
  home: string;
  log: (line: string) => void;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where the embedded server's Web UI decodes payloads: the worker's codec endpoint (SPEC §7a). */
  codecEndpoint?: string;
}

/** Contents of `<home>/temporal.pid`; `startTime` guards against signalling a process that reused the pid. */
interface EmbeddedRecord {
  pid: number;
  startTime: number;
  address: string;
  uiUrl: string | null;
}

const files = (home: string) => ({
  db: path.join(home, 'temporal.db'),
  log: path.join(home, 'temporal.log'),
  pid: path.join(home, 'temporal.pid'),
  lock: path.join(home, 'temporal.lock'),
});

async function readRecord(home: string): Promise<EmbeddedRecord | null> {
  try {
    const record = JSON.parse(await readFile(files(home).pid, 'utf8')) as Partial<EmbeddedRecord>;
    const valid = typeof record.pid === 'number' && typeof record.startTime === 'number' && typeof record.address === 'string';
    return valid ? (record as EmbeddedRecord) : null;
  } catch {
    return null;
  }
}

/** The recorded embedded server if that very process still runs; a stale record is removed. */
async function liveRecord(home: string): Promise<EmbeddedRecord | null> {
  const record = await readRecord(home);
  if (record !== null && isProcessAlive(record.pid) && (await processStartTime(record.pid)) === record.startTime) {
    return record;
  }
  await rm(files(home).pid, { force: true });
  return null;
}

async function writeRecord(home: string, record: EmbeddedRecord): Promise<void> {
  const file = files(home).pid;
  await writeFile(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  await rename(`${file}.tmp`, file);
}

async function waitUntilReachable(address: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isTemporalReachable(address, REACHABLE_TIMEOUT_MS))) {
    if (Date.now() >= deadline) return false;
    await sleep(250);
  }
  return true;
}

/**
 * SPEC §1 embedded default. With TEMPORAL_ADDRESS (or a client config file address) set, that server
 * must answer. Otherwise use 127.0.0.1:7233 if something answers there, else start a detached
 * `temporal server start-dev` with its state in `home`, which keeps running after stackflow exits.
 * Throws TemporalUnreachableError (exit code 3) when no server can be reached or started.
 */
export async function ensureTemporal(opts: EnsureTemporalOptions): Promise<TemporalEndpoint> {
  const config = loadTemporalConfig({ env: opts.env });
  const { address, connectionOptions } = config;
  const reachable = () => isTemporalReachable(address, REACHABLE_TIMEOUT_MS, connectionOptions);

  const foreign = async (): Promise<TemporalEndpoint> => {
    await registerSearchAttribute(config, opts.log);
    return { address, uiUrl: null, embedded: false };
  };

  if (config.addressSource !== 'default') {
    if (await reachable()) return foreign();
    const origin = config.addressSource === 'env' ? 'TEMPORAL_ADDRESS is set' : 'the Temporal client config file sets it';
    throw new TemporalUnreachableError(
      address,
      `${origin}, so stackflow does not start its own server. Start one there (e.g. \`temporal server start-dev --port ${address.split(':').pop()}\`), or unset TEMPORAL_ADDRESS to let stackflow start a local dev server.`,
    );
  }

  await mkdir(opts.home, { recursive: true });
  const embedded = (record: EmbeddedRecord): TemporalEndpoint => ({ address, uiUrl: record.uiUrl, embedded: true });
  if (await reachable()) {
    const record = await liveRecord(opts.home);
    if (record !== null) return embedded(record);
    // Another home's embedded server (or the user's own dev server): its UI is usually beside it.
    return { ...(await foreign()), uiUrl: (await webUiAnswers(DEFAULT_UI_URL)) ? DEFAULT_UI_URL : null };
  }

  return withFileLock(
    files(opts.home).lock,
    async () => {
      // Another stackflow process may have started the server while we waited for the lock.
      const running = await liveRecord(opts.home);
      if (running !== null) {
        if (await waitUntilReachable(address, ADOPT_TIMEOUT_MS)) return embedded(running);
        throw new TemporalUnreachableError(
          address,
          `The embedded Temporal dev server (pid ${running.pid}) is running but does not answer; see ${files(opts.home).log}. \`stackflow down --all\` stops it.`,
        );
      }
      if (await reachable()) return foreign();
      return startEmbedded(opts, config);
    },
    (ownerPid) => opts.log(`Waiting for process ${ownerPid}, which is starting the Temporal dev server…`),
  );
}

async function startEmbedded(opts: EnsureTemporalOptions, config: TemporalConfig): Promise<TemporalEndpoint> {
  const { address, namespace } = config;
  const { db, log } = files(opts.home);
  try {
    const cliPath = await resolveTemporalCli({ log: opts.log, env: opts.env });
    opts.log(`No Temporal server at ${address}; starting a local dev server (data: ${db}, log: ${log}).`);
    const server = await startDevServer({
      cliPath,
      port: EMBEDDED_PORT,
      uiPort: EMBEDDED_UI_PORT,
      dbFile: db,
      logFile: log,
      detached: true,
      ...(opts.codecEndpoint === undefined ? {} : { codecEndpoint: opts.codecEndpoint }),
      // `default` always exists; any other namespace must be created at launch.
      extraArgs: namespace === DEFAULT_TEMPORAL_NAMESPACE ? [] : ['--namespace', namespace],
    });
    const startTime = await processStartTime(server.pid);
    if (startTime === null) throw new Error(`the dev server (pid ${server.pid}) exited right after starting`);
    const record: EmbeddedRecord = { pid: server.pid, startTime, address: server.address, uiUrl: server.uiUrl };
    await writeRecord(opts.home, record);
    return { address: server.address, uiUrl: server.uiUrl, embedded: true };
  } catch (err) {
    throw new TemporalUnreachableError(
      address,
      `stackflow could not start a local Temporal dev server: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const DEFAULT_UI_URL = `http://127.0.0.1:${EMBEDDED_UI_PORT}`;

async function webUiAnswers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(REACHABLE_TIMEOUT_MS) })).ok;
  } catch {
    return false;
  }
}

/** Stops the embedded dev server recorded in `home` (`down --all`); false when none was running. */
export async function stopEmbedded(home: string): Promise<boolean> {
  const record = await liveRecord(home);
  if (record === null) return false;
  await terminateProcess(record.pid, { group: true });
  await rm(files(home).pid, { force: true });
  return true;
}

/**
 * Best effort on a server stackflow did not start (the embedded one gets the attribute from
 * `--search-attribute`): Temporal Cloud, for one, refuses operator calls, and there the user
 * must create it.
 */
async function registerSearchAttribute(config: TemporalConfig, log: (line: string) => void): Promise<void> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...config.connectionOptions, connectTimeout: REACHABLE_TIMEOUT_MS });
    await ensureSearchAttribute(connection, config.namespace);
  } catch (err) {
    log(
      `Warning: could not register the ${STACK_NAME_SEARCH_ATTRIBUTE} search attribute on ${config.address}: ${(err as Error).message}. ` +
        `Create it with \`temporal operator search-attribute create --name ${STACK_NAME_SEARCH_ATTRIBUTE} --type Keyword --namespace ${config.namespace}\`.`,
    );
  } finally {
    await connection?.close();
  }
}

/** Registers the `StackName` Keyword search attribute in `namespace` unless it already exists. */
export async function ensureSearchAttribute(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<void> {
  const keyword = encodeSearchAttributeIndexedValueType('KEYWORD') as NonNullable<
    ReturnType<typeof encodeSearchAttributeIndexedValueType>
  >;
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes?.[STACK_NAME_SEARCH_ATTRIBUTE];
  if (existing === keyword) return;
  if (existing !== undefined && existing !== null) {
    throw new Error(
      `Search attribute ${STACK_NAME_SEARCH_ATTRIBUTE} exists in namespace ${namespace} with IndexedValueType ${existing}; stackflow needs Keyword.`,
    );
  }
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { [STACK_NAME_SEARCH_ATTRIBUTE]: keyword },
    });
  } catch (err) {
    // A concurrent caller registered it between our list and add.
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
}
