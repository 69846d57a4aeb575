// Restart back-off maths (pure; shared by the service workflow and its tests).
import type { BackoffSettings } from '../model.js';

/** A service healthy this long has its back-off and restart budget reset (SPEC §4). */
export const RESTART_WINDOW_MS = 10 * 60 * 1000;

/**
 * Delay before restart number `attempt` (1-based): initial × factor^(attempt-1), capped at max,
 * then spread by ±jitter so services that crashed together do not restart in lockstep.
 * `random` is injected so workflow code passes its deterministic Math.random.
 */
export function backoffDelay(settings: BackoffSettings, attempt: number, random: () => number, jitter = 0.1): number {
  const base = Math.min(settings.maxMs, settings.initialMs * Math.pow(settings.factor, Math.max(0, attempt - 1)));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(settings.maxMs, base + spread)));
}

/** Restarts that still count against max_restarts at `now`: those within the window. */
export function restartsInWindow(restartTimes: number[], now: number, windowMs = RESTART_WINDOW_MS): number[] {
  return restartTimes.filter((t) => now - t < windowMs);
}

/** What follows a run that ended on its own (SPEC §4's restart policies), decided before its clean-up. */
export type NextStep =
  | { kind: 'complete' }
  | { kind: 'fail'; error: string }
  | { kind: 'retry'; attempt: number; delayMs: number; recent: number[] };

/**
 * Decides what follows a run that ended by itself: `failed` says it crashed (non-zero exit, liveness,
 * failed start). `restart: always` runs a clean exit again too; `no`/`never` ends the service; a crash
 * past max_restarts within the window gives up. `random` is the workflow's deterministic Math.random.
 */
export function nextStep(
  restart: { policy: string; maxRestarts: number; backoff: BackoffSettings },
  run: { failed: boolean; reason: string },
  restartTimes: number[],
  now: number,
  random: () => number,
): NextStep {
  if (!run.failed && restart.policy !== 'always') return { kind: 'complete' };
  if (restart.policy === 'never') return run.failed ? { kind: 'fail', error: run.reason } : { kind: 'complete' };
  const recent = restartsInWindow(restartTimes, now);
  if (recent.length >= restart.maxRestarts) {
    return { kind: 'fail', error: `gave up after ${recent.length} restarts within 10m: ${run.reason}` };
  }
  return { kind: 'retry', attempt: recent.length + 1, delayMs: backoffDelay(restart.backoff, recent.length + 1, random), recent };
}

/** An exit in a few words, for log markers and timer labels: `exited (code 1)`, `exited (SIGKILL)`. */
export function describeExitShort(exit: { code: number | null; signal: string | null } | null | undefined): string {
  if (!exit) return 'ended';
  if (exit.signal) return `exited (${exit.signal})`;
  return exit.code === null ? 'exited' : `exited (code ${exit.code})`;
}

/**
 * The run boundary written into a service's log before each spawn, one wording for every run: the
 * run's number (from 1), the restarts before it only when there were some, then the command:
 * `— run 1: node data.mjs`, `— run 2 (after 1 manual restart): …`, `— run 4 (after 2 crash restarts, 1 manual restart): …`.
 */
export function runMarkerLine(restarts: number, manualRestarts: number, command: string[]): string {
  const counts = [
    restarts > 0 && `${restarts} crash restart${restarts === 1 ? '' : 's'}`,
    manualRestarts > 0 && `${manualRestarts} manual restart${manualRestarts === 1 ? '' : 's'}`,
  ].filter(Boolean);
  return `— run ${restarts + manualRestarts + 1}${counts.length ? ` (after ${counts.join(', ')})` : ''}: ${command.join(' ')}`;
}
