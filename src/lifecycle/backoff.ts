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
