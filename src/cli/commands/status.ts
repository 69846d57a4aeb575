// `stackflow status [service...] [--json] [--watch [--interval 1s]]`: the `status` query, with CPU and
// memory as each service's host worker sampled them (never read here: the process may run on another
// host). Named services get their whole record. Start-up is the point of this command's imports: no
// Temporal SDK, yaml or zod on the way to an answer over the HTTP API (see cli/reads.ts).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceStatus, StackStatus } from '../../model.js';
import { parseDuration } from '../../config/durations.js';
import { escapeControl } from '../../config/problems.js';
import { didYouMean } from '../../config/suggest.js';
import { describeExitShort } from '../../lifecycle/backoff.js';
import { errorSummary } from '../../lifecycle/status.js';
import { CliError, EXIT } from '../errors.js';
import { dim, formatBytes, formatDuration, table } from '../output.js';
import { findReadSession, noServerMessage, QUERY_DEADLINE_MS, requireWorker, type ReadSession } from '../reads.js';
import { locateStackOrExit } from '../locate-stack.js';
import { InPlace, isLiveTerminal } from '../view/redraw.js';

export interface StatusOptions {
  config: string;
  /** The stack's name (compose's -p/--project-name): the stack file is then not read at all. */
  projectName?: string;
  json?: boolean;
  watch?: boolean;
  interval?: string;
}

const MIN_INTERVAL_MS = 250;

/** How many of a named service's last log lines `status <service>` shows. */
const DETAIL_LOG_LINES = 10;

export async function status(options: StatusOptions, services: string[] = []): Promise<number> {
  const spec = await locateStackOrExit(options);
  const interval = parseDuration(options.interval ?? '1s');
  if (interval === undefined || interval < MIN_INTERVAL_MS) {
    throw new CliError(escapeControl(`--interval: expected a duration of at least ${MIN_INTERVAL_MS}ms (e.g. 1s, 500ms), got "${options.interval}"`), EXIT.usage);
  }
  const session = await findReadSession(spec.home, (line) => console.error(line));
  if (!session) {
    if (options.json) console.log(JSON.stringify(stopped(spec.name), null, 2));
    (options.json ? console.error : console.log)(noServerMessage(spec.name));
    return reportLeftovers(spec.home, spec.name, false, options.json);
  }
  if (!options.watch) {
    let current: StackStatus;
    let workerServes = false;
    try {
      if (await session.stacks.isRunning(spec.name)) await requireWorker(session, spec.name);
      current = await query(session, spec.name);
      // A stopped stack's leftovers are listed below; the home's worker is one only when it serves no other stack.
      if (isStopped(current) && !services.length) {
        const { otherStacks } = await import('../leftovers.js');
        workerServes = (await otherStacks(session.stacks, spec.name, spec.home))?.length !== 0;
      }
    } finally {
      await session.close();
    }
    if (services.length) {
      const named = only(current, services);
      console.log(options.json ? JSON.stringify(named, null, 2) : await renderDetails(named, join(spec.home, spec.name)));
      return EXIT.ok;
    }
    console.log(options.json ? JSON.stringify(current, null, 2) : render(current));
    return isStopped(current) ? reportLeftovers(spec.home, spec.name, workerServes, options.json) : EXIT.ok;
  }

  // --watch: until Ctrl-C (or SIGTERM). On a terminal the table is redrawn in place; elsewhere each
  // refresh is printed after the last, and with --json each is one line (JSON Lines).
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const live = !options.json && isLiveTerminal(process.stdout);
  const screen = new InPlace(process.stdout);
  try {
    while (!stop.signal.aborted) {
      const began = Date.now();
      let text: string;
      try {
        if (await session.stacks.isRunning(spec.name)) await requireWorker(session, spec.name);
        const all = await query(session, spec.name);
        const current = services.length ? only(all, services) : all;
        if (options.json) process.stdout.write(JSON.stringify(current) + '\n');
        text = services.length ? await renderDetails(current, join(spec.home, spec.name)) : render(current);
      } catch (err) {
        if (err instanceof CliError && err.exitCode === EXIT.usage) throw err;
        // A query that fails (server restarting, no worker) is shown, and retried at the next refresh.
        text = escapeControl(`stack ${spec.name}: status unavailable: ${err instanceof Error ? err.message : String(err)}`);
        if (options.json) console.error(text);
      }
      if (live) screen.draw([...text.split('\n'), dim(`every ${formatDuration(interval)} · ${new Date().toLocaleTimeString()} · Ctrl-C to quit`)]);
      else if (!options.json) process.stdout.write(`${new Date().toISOString()}\n${text}\n\n`);
      await sleep(Math.max(0, interval - (Date.now() - began)), undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
    await session.close();
  }
  return EXIT.ok;
}

async function query(session: ReadSession, stack: string): Promise<StackStatus> {
  return (await session.stacks.observedStatus(stack, QUERY_DEADLINE_MS)) ?? stopped(stack);
}

const stopped = (stack: string): StackStatus => ({ stack, state: 'stopped', services: {} });
const isStopped = (current: StackStatus) => current.state === 'stopped' && !Object.keys(current.services).length;

/**
 * The named services of `current` (a replicated service's name stands for all its instances
 * `name#i`). A name the running stack does not have is a usage error (exit 2) naming the closest one;
 * a stack that is not running has no services to check against, and is shown as it is.
 */
function only(current: StackStatus, names: string[]): StackStatus {
  const all = Object.keys(current.services);
  if (!all.length) return current;
  const base = (instance: string) => instance.replace(/#\d+$/, '');
  const unknown = names.filter((n) => !all.some((s) => s === n || base(s) === n));
  if (unknown.length) {
    const bases = [...new Set(all.map(base))];
    const hints = unknown.map((n) => `"${n}"${didYouMean(n, bases)}`).join(', ');
    throw new CliError(escapeControl(`unknown service ${hints}; stack ${current.stack} has: ${bases.join(', ')}`), EXIT.usage);
  }
  const services = Object.fromEntries(Object.entries(current.services).filter(([s]) => names.includes(s) || names.includes(base(s))));
  return { ...current, services };
}

/**
 * With no stack workflow: processes of the stack still running (a killed worker, a removed home) are
 * named, exit 1. The home's background worker is none of them when its `worker.pid` (with its
 * identity record) is live: it is then idle (one dim line says so, exit 0) unless `workerServes`
 * (another stack of this home runs); a worker that lost its pid file is a leftover. With `json`,
 * stdout holds only the JSON: the line goes to stderr.
 */
async function reportLeftovers(home: string, stack: string, workerServes: boolean, json = false): Promise<number> {
  const { backgroundWorkerOf, describeLeftovers, leftoverProcesses } = await import('../leftovers.js');
  const found = await leftoverProcesses(home, stack);
  const worker = await backgroundWorkerOf(home, found);
  const left = found.filter((p) => p !== worker && (!workerServes || p.service !== null));
  if (worker && !workerServes) (json ? console.error : console.log)(dim(`background worker pid ${worker.pid} is idle; \`stackflow down\` stops it`));
  if (!left.length) return EXIT.ok;
  console.error(`but ${left.length} process(es) of stack ${stack} still run without a workflow tracking them:\n${describeLeftovers(left)}\n\`stackflow down\` stops them.`);
  return EXIT.failure;
}

function render(current: StackStatus): string {
  const rows = Object.entries(current.services).map(([name, s]) => [
    name,
    describeState(s),
    s.host,
    s.pid ? String(s.pid) : '-',
    s.port ? String(s.port) : '-',
    s.manualRestarts ? `${s.restarts} (+${s.manualRestarts} manual)` : String(s.restarts),
    s.healthyAt && s.pid ? formatDuration(Date.now() - Date.parse(s.healthyAt)) : '-',
    s.cpuPercent === null ? '-' : `${s.cpuPercent}%`,
    s.memoryBytes === null ? '-' : formatBytes(s.memoryBytes),
    escapeControl(errorSummary(name, s.error)),
  ]);
  const header = `stack ${current.stack}: ${current.state}`;
  if (!rows.length) return header;
  const cut = Object.entries(current.services).some(([name, s]) => s.error && errorSummary(name, s.error) !== s.error.trim());
  const footer = cut ? `\n${dim('ERROR: first lines only; `stackflow status --json` has them in full')}` : '';
  return `${header}\n${table(['SERVICE', 'STATE', 'HOST', 'PID', 'PORT', 'RESTARTS', 'UPTIME', 'CPU', 'MEM', 'ERROR'], rows)}${footer}`;
}

/** The state column: `unknown (host b unreachable since 14:02:11)` when its host's worker is silent. */
export function describeState(s: ServiceStatus): string {
  if (s.state !== 'unknown') return s.state;
  const since = s.unreachableSince ? ` since ${new Date(s.unreachableSince).toLocaleTimeString()}` : '';
  return `unknown (host ${escapeControl(s.host)} unreachable${since})`;
}

/**
 * `status <service...>`: each service's whole record, one field a line (the full error, every line
 * of it, indented and escaped as in the table), then its log file and last lines. `stackDir` is
 * `<STACKFLOW_HOME>/<stack>`; a service of another host has no log here, and that is said.
 */
async function renderDetails(current: StackStatus, stackDir: string): Promise<string> {
  const { logFile, readLog } = await import('../log-tail.js');
  const header = `stack ${current.stack}: ${current.state}`;
  const blocks = await Promise.all(
    Object.entries(current.services).map(async ([name, s]) => {
      const file = logFile(stackDir, name);
      const { lines } = await readLog(file, { lines: DETAIL_LOG_LINES }).catch(() => ({ lines: [] as string[] }));
      const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleTimeString() : '-');
      const field = (label: string, value: string) => `  ${label.padEnd(10)}${value}`;
      // each line escaped apart, so the lines of a multi-line error stay lines
      const indent = (text: string) => text.split('\n').map(escapeControl).join(`\n${' '.repeat(12)}`);
      const at = s.address ? `${s.address}:${s.port}` : `127.0.0.1:${s.port}`;
      const exit = s.lastExit ? `${describeExitShort(s.lastExit)} at ${time(s.lastExit.at)}` : '-';
      const backoff = s.backoff ? `; back-off ${s.backoff.attempt}/${s.backoff.maxAttempts}, ${formatDuration(s.backoff.delayMs)} from ${time(s.backoff.at)}` : '';
      return [
        `${name}: ${describeState(s)}`,
        field('host', escapeControl(s.host)),
        field('pid', s.pid ? String(s.pid) : '-'),
        field('port', s.port ? `${s.port} (${escapeControl(at)})` : '-'),
        field('restarts', `${s.restarts} after a crash, ${s.manualRestarts} manual${backoff}`),
        field('uptime', s.healthyAt && s.pid ? `${formatDuration(Date.now() - Date.parse(s.healthyAt))} (started ${time(s.startedAt)}, healthy ${time(s.healthyAt)})` : `- (started ${time(s.startedAt)})`),
        field('cpu', s.cpuPercent === null ? '-' : `${s.cpuPercent}%`),
        field('memory', s.memoryBytes === null ? '-' : `${formatBytes(s.memoryBytes)}${s.sampledAt ? ` (sampled ${time(s.sampledAt)})` : ''}`),
        field('last exit', exit),
        field('error', s.error ? indent(s.error.trimEnd()) : '-'),
        field('log', lines.length ? file : `${file} (${s.host === 'local' ? 'empty or missing' : `not on this machine: the service runs on host ${escapeControl(s.host)}`})`),
        ...lines.map((line) => `    ${escapeControl(line)}`),
      ].join('\n');
    }),
  );
  return [header, ...blocks].join('\n\n');
}
