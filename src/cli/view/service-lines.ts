// The startup view of `up` (pure): one line per service with its state, the time elapsed, its pid
// and restart count. The live renderer (live.ts) redraws these lines in place on a terminal; without
// one, the same line is printed once per state change.
import type { DependencyMap } from '../../graph/index.js';
import type { ServiceState, ServiceStatus } from '../../model.js';
import { colors, formatDuration, padVisible, type Colors } from '../output.js';
import { lookup } from '../../name-map.js';

export interface StartupViewInput {
  /** The services to show, in this order. */
  services: readonly string[];
  /** The last `status` query; a service it does not list yet is shown as pending. */
  status: Readonly<Record<string, ServiceStatus>>;
  /** Epoch ms at which each service's current state (and restart count) was first seen. */
  stateSince: Readonly<Record<string, number>>;
  /** Epoch ms at which `up` began. */
  upStartedAt: number;
  /** Epoch ms of this rendering. */
  now: number;
  /** service -> its dependencies, to say what a pending service waits for. */
  deps?: DependencyMap;
  color: boolean;
  /** Spinner and state marks (the live terminal view); plain lines without. */
  live: boolean;
}

/** States after which a service's line no longer changes during startup: its elapsed time stops. */
const FINAL: ReadonlySet<ServiceState> = new Set(['healthy', 'completed', 'failed', 'blocked', 'stopped']);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_FRAME_MS = 80;
const STATE_WIDTH = 'restarting'.length;

function paintState(state: ServiceState, c: Colors): string {
  switch (state) {
    case 'healthy':
    case 'completed':
      return c.green(state);
    case 'failed':
    case 'blocked':
      return c.red(state);
    case 'restarting':
    case 'unhealthy':
      return c.yellow(state);
    case 'pending':
    case 'stopping':
    case 'stopped':
      return c.dim(state);
    default:
      return state;
  }
}

function mark(state: ServiceState, now: number, c: Colors): string {
  switch (state) {
    case 'healthy':
    case 'completed':
      return c.green('✔');
    case 'failed':
    case 'blocked':
      return c.red('✘');
    case 'pending':
      return c.dim('·');
    case 'stopping':
    case 'stopped':
      return c.dim('■');
    case 'restarting':
    case 'unhealthy':
      return c.yellow(SPINNER[Math.floor(now / SPINNER_FRAME_MS) % SPINNER.length]!);
    default:
      return c.cyan(SPINNER[Math.floor(now / SPINNER_FRAME_MS) % SPINNER.length]!);
  }
}

/**
 * The elapsed column. A service still on its way shows the time since `up` began, ticking; once it
 * has settled the clock stops where it settled (healthyAt for a healthy service, else when that
 * state was first seen). A service that was already healthy before this `up` (attaching to a
 * running stack) shows its uptime instead, from its startedAt.
 */
export function elapsedText(status: ServiceStatus | undefined, since: number | undefined, input: Pick<StartupViewInput, 'upStartedAt' | 'now'>): string {
  const { upStartedAt, now } = input;
  if (!status || !FINAL.has(status.state)) return `+${formatDuration(Math.max(0, now - upStartedAt))}`;
  const healthyAt = status.healthyAt ? Date.parse(status.healthyAt) : NaN;
  if (status.state === 'healthy' && healthyAt < upStartedAt) {
    const startedAt = status.startedAt ? Date.parse(status.startedAt) : healthyAt;
    return `up ${formatDuration(Math.max(0, now - startedAt))}`;
  }
  const settledAt = status.state === 'healthy' && Number.isFinite(healthyAt) ? healthyAt : (since ?? now);
  return `+${formatDuration(Math.max(0, settledAt - upStartedAt))}`;
}

/** What a pending service waits for: its dependencies that are not healthy/completed yet. */
function waitingFor(name: string, input: StartupViewInput): string[] {
  return (lookup(input.deps, name) ?? []).filter((dep) => {
    const s = lookup(input.status, dep);
    return !s || (s.state !== 'healthy' && s.state !== 'completed');
  });
}

function details(name: string, status: ServiceStatus | undefined, input: StartupViewInput, c: Colors): string {
  const parts: string[] = [];
  const state = status?.state ?? 'pending';
  if (status?.pid) parts.push(`pid ${status.pid}`);
  if (status?.restarts) parts.push(c.yellow(`restarts ${status.restarts}`));
  if (state === 'pending') {
    const waiting = waitingFor(name, input);
    if (waiting.length) parts.push(c.dim(`waiting for ${waiting.join(', ')}`));
  }
  if ((state === 'failed' || state === 'blocked' || state === 'restarting' || state === 'unhealthy') && status?.error) {
    parts.push((state === 'failed' || state === 'blocked' ? c.red : c.yellow)(firstLine(status.error)));
  }
  return parts.join('  ');
}

const firstLine = (text: string) => text.split('\n', 1)[0]!;

/** The line of one service. */
export function serviceLine(name: string, input: StartupViewInput, nameWidth = name.length): string {
  const c = colors(input.color);
  const status = lookup(input.status, name);
  const state: ServiceState = status?.state ?? 'pending';
  const elapsed = elapsedText(status, lookup(input.stateSince, name), input);
  const cells = [
    padVisible(c.bold(name), nameWidth),
    padVisible(paintState(state, c), STATE_WIDTH),
    c.dim(elapsed.padStart(8)),
    details(name, status, input, c),
  ];
  const line = `${input.live ? mark(state, input.now, c) : ' '} ${cells.join('  ')}`;
  return line.trimEnd();
}

/** One line per service, names aligned. */
export function serviceLines(input: StartupViewInput): string[] {
  const width = Math.max(0, ...input.services.map((s) => s.length));
  return input.services.map((name) => serviceLine(name, input, width));
}
