// `stackflow status [--json] [--watch [--interval 1s]]`: the `status` query, with CPU and memory as
// each service's host worker sampled them (never read here: the process may run on another host).
import type { ServiceStatus, StackStatus } from '../../model.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { escapeControl, parseDuration } from '../../config/index.js';
import { errorSummary } from '../../lifecycle/status.js';
import { CliError, EXIT } from '../errors.js';
import { dim, formatBytes, formatDuration, table } from '../output.js';
import { findSession, noServerMessage, QUERY_DEADLINE_MS, requireWorker, type Session } from '../session.js';
import { describeLeftovers, leftoverProcesses } from '../leftovers.js';
import { locateStackOrExit } from '../stack-file.js';
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

export async function status(options: StatusOptions): Promise<number> {
  const spec = locateStackOrExit(options);
  const interval = parseDuration(options.interval ?? '1s');
  if (interval === undefined || interval < MIN_INTERVAL_MS) {
    throw new CliError(escapeControl(`--interval: expected a duration of at least ${MIN_INTERVAL_MS}ms (e.g. 1s, 500ms), got "${options.interval}"`), EXIT.usage);
  }
  const session = await findSession(spec.home, (line) => console.error(line));
  if (!session) {
    if (options.json) console.log(JSON.stringify(stopped(spec.name), null, 2));
    (options.json ? console.error : console.log)(noServerMessage(spec.name));
    return reportLeftovers(spec.home, spec.name);
  }
  if (!options.watch) {
    let current: StackStatus;
    try {
      if (await session.stacks.isRunning(spec.name)) await requireWorker(session, spec.name);
      current = await query(session, spec.name);
    } finally {
      await session.close();
    }
    console.log(options.json ? JSON.stringify(current, null, 2) : render(current));
    return current.state === 'stopped' && !Object.keys(current.services).length ? reportLeftovers(spec.home, spec.name) : EXIT.ok;
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
        const current = await query(session, spec.name);
        if (options.json) process.stdout.write(JSON.stringify(current) + '\n');
        text = render(current);
      } catch (err) {
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

async function query(session: Session, stack: string): Promise<StackStatus> {
  return (await session.stacks.observedStatus(stack, QUERY_DEADLINE_MS)) ?? stopped(stack);
}

const stopped = (stack: string): StackStatus => ({ stack, state: 'stopped', services: {} });

/** With no stack workflow: processes of the stack still running (a killed worker, a removed home) are named, exit 1. */
async function reportLeftovers(home: string, stack: string): Promise<number> {
  const left = await leftoverProcesses(home, stack);
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
