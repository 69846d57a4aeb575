import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { ensureHome } from '../home.js';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { resolveTemporalCli } from './cli-binary.js';
import { DEFAULT_TEMPORAL_NAMESPACE, loadTemporalConfig, type TemporalConfig } from './connection.js';
import { findFreePort, isPortOpen, isTemporalReachable, startDevServer, suggestFreePort } from './dev-server.js';
import { DEFAULT_CODEC_PORT } from '../codec/endpoint.js';
import { EmbeddedDatabaseLostError, InvalidSettingError, TemporalUnreachableError } from './errors.js';
import { withFileLock } from './lock.js';
import { embeddedFiles as files, liveRecord, writeRecord, type EmbeddedRecord } from './embedded-record.js';
import { isProcessAlive, processStartTime, terminateProcess } from '../process/terminate.js';
import { STACK_NAME_SEARCH_ATTRIBUTE } from '../workflows/ids.js';

/** The port of DEFAULT_TEMPORAL_ADDRESS, where the embedded server listens. */
export const EMBEDDED_PORT = 7233;
/** The embedded server's Web UI port unless STACKFLOW_UI_PORT says otherwise. */
export const EMBEDDED_UI_PORT = 8233;
export const UI_PORT_VARIABLE = 'STACKFLOW_UI_PORT';

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

/**
 * The Web UI port of the embedded server: STACKFLOW_UI_PORT, else 8233. Throws InvalidSettingError
 * (exit 2) for a value that is not a port number.
 */
export function embeddedUiPort(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[UI_PORT_VARIABLE];
  if (value === undefined || value === '') return EMBEDDED_UI_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidSettingError(`${UI_PORT_VARIABLE}: expected a port number (1-65535), got "${value}"`);
  }
  return port;
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
  return (await resolveTemporal(opts, true))!;
}

/**
 * As ensureTemporal, for the commands that only read or stop (`status`, `down`, `restart`, ...):
 * it never starts a server, and answers null when none runs at the default address. A configured
 * address that does not answer still throws TemporalUnreachableError; an embedded server that lost
 * its database throws EmbeddedDatabaseLostError.
 */
export function findTemporal(opts: EnsureTemporalOptions): Promise<TemporalEndpoint | null> {
  return resolveTemporal(opts, false);
}

async function resolveTemporal(opts: EnsureTemporalOptions, start: boolean): Promise<TemporalEndpoint | null> {
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

  const embedded = (record: EmbeddedRecord): TemporalEndpoint => ({ address, uiUrl: record.uiUrl, embedded: true });
  if (await reachable()) {
    const record = await liveRecord(opts.home);
    if (record !== null) return embedded(record);
    const lost = await lostEmbeddedServer(opts.home);
    if (lost !== null) throw new EmbeddedDatabaseLostError(address, lost, files(opts.home).db);
    // Another home's embedded server (or the user's own dev server): its UI is usually beside it.
    const uiUrl = `http://127.0.0.1:${embeddedUiPort(opts.env)}`;
    return { ...(await foreign()), uiUrl: (await webUiAnswers(uiUrl)) ? uiUrl : null };
  }
  if (!start) return null;
  await ensureHome(opts.home);

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
    const uiPort = embeddedUiPort(opts.env);
    if (await isPortOpen('127.0.0.1', uiPort, REACHABLE_TIMEOUT_MS)) {
      // Never the codec endpoint's port (8234 by default, beside the UI's 8233): the worker serves it.
      const codecPort = opts.codecEndpoint === undefined ? DEFAULT_CODEC_PORT : Number(new URL(opts.codecEndpoint).port);
      const free = await suggestFreePort(uiPort + 1, [DEFAULT_CODEC_PORT, codecPort, EMBEDDED_PORT]);
      throw new InvalidSettingError(
        `port ${uiPort} (the Temporal Web UI of the embedded server) is taken by another process: set ${UI_PORT_VARIABLE} to a free port, e.g. ${UI_PORT_VARIABLE}=${free}`,
      );
    }
    const cliPath = await resolveTemporalCli({ log: opts.log, env: opts.env });
    opts.log(`No Temporal server at ${address}; starting a local dev server (data: ${db}, log: ${log}).`);
    // The HTTP API on a free port, recorded for the commands' light read path (`status`).
    const httpPort = await findFreePort();
    const server = await startDevServer({
      cliPath,
      port: EMBEDDED_PORT,
      uiPort,
      httpPort,
      dbFile: db,
      logFile: log,
      detached: true,
      ...(opts.codecEndpoint === undefined ? {} : { codecEndpoint: opts.codecEndpoint }),
      // `default` always exists; any other namespace must be created at launch.
      extraArgs: namespace === DEFAULT_TEMPORAL_NAMESPACE ? [] : ['--namespace', namespace],
    });
    const startTime = await processStartTime(server.pid);
    if (startTime === null) throw new Error(`the dev server (pid ${server.pid}) exited right after starting`);
    const record: EmbeddedRecord = { pid: server.pid, startTime, address: server.address, uiUrl: server.uiUrl, ...(server.httpAddress ? { httpAddress: server.httpAddress } : {}) };
    await writeRecord(opts.home, record);
    return { address: server.address, uiUrl: server.uiUrl, embedded: true };
  } catch (err) {
    if (err instanceof InvalidSettingError) throw err;
    throw new TemporalUnreachableError(
      address,
      `stackflow could not start a local Temporal dev server: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

async function webUiAnswers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(REACHABLE_TIMEOUT_MS) })).ok;
  } catch {
    return false;
  }
}

/**
 * Stops the embedded dev server of `home` (`down --all`): the recorded one, or one that lost its
 * record and database with the home (see lostEmbeddedServer); false when none was running.
 */
export async function stopEmbedded(home: string): Promise<boolean> {
  const record = await liveRecord(home);
  const pid = record?.pid ?? (await lostEmbeddedServer(home));
  if (pid === null) return false;
  await terminateProcess(pid, { group: true });
  await rm(files(home).pid, { force: true });
  return true;
}

/**
 * The pid of a `temporal server start-dev` whose `--db-filename` is this home's temporal.db while
 * that file is gone (`rm -rf .stackflow` under a running server): the server answers, but its
 * history went with the file (SQLite keeps writing to the unlinked inode). The exact database path
 * in its command line proves it is ours. Null when there is none, or the database is still there.
 */
export async function lostEmbeddedServer(home: string): Promise<number | null> {
  const db = files(home).db;
  if (existsSync(db)) return null;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const dbAt = argv.indexOf('--db-filename');
    if (argv.includes('start-dev') && dbAt !== -1 && path.resolve(argv[dbAt + 1] ?? '') === path.resolve(db) && isProcessAlive(Number(entry))) {
      return Number(entry);
    }
  }
  return null;
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
