import type { ReadinessSettings } from '../model.js';
import { sleep } from '../process/wait.js';
import { createProbe, type ProbeContext, type ProbeResult } from './probes.js';

const FIRST_DELAY_MS = 5;
/**
 * Each pause is 5% longer than the previous one, so a service is seen ready at most ~5% of the
 * time already waited after it became ready (200 ms → within ~15 ms), while a slow starter costs
 * only a few dozen probes before the pause reaches `intervalMs`.
 */
const GROWTH = 1.05;

/** Pauses between readiness probes: fast at first, growing to `intervalMs`, then `intervalMs` forever. */
export function* pollDelays(intervalMs: number): Generator<number, never> {
  let delay = Math.min(FIRST_DELAY_MS, intervalMs);
  for (;;) {
    yield Math.round(delay);
    delay = Math.min(delay * GROWTH, intervalMs);
  }
}

export interface AttemptReport extends ProbeResult {
  attempt: number;
  elapsedMs: number;
}

export interface ReadinessContext extends ProbeContext {
  signal?: AbortSignal;
  onAttempt?: (report: AttemptReport) => void;
}

export interface Readiness {
  attempts: number;
  /** From the call (not from the end of start_period) to the successful probe. */
  elapsedMs: number;
  detail: string;
}

export class ReadinessTimeoutError extends Error {
  override readonly name = 'ReadinessTimeoutError';

  constructor(
    readonly timeoutMs: number,
    readonly attempts: number,
    readonly lastDetail: string,
  ) {
    super(`not ready after ${timeoutMs}ms (${attempts} probes); last probe: ${lastDetail}`);
  }

  toJSON(): { name: string; message: string; timeoutMs: number; attempts: number; lastDetail: string } {
    const { name, message, timeoutMs, attempts, lastDetail } = this;
    return { name, message, timeoutMs, attempts, lastDetail };
  }
}

/**
 * Waits `startPeriodMs`, then probes on the `pollDelays` schedule until a probe passes. Rejects with a
 * ReadinessTimeoutError once `readyTimeoutMs` (counted from the call, start period included) has
 * passed, or with the signal's reason when it aborts. A probe under way at the deadline may finish
 * (it has its own `timeoutMs`).
 */
export async function waitUntilReady(settings: ReadinessSettings, ctx: ReadinessContext): Promise<Readiness> {
  const { signal } = ctx;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const probe = createProbe(settings.probe, ctx);
  const delays = pollDelays(settings.intervalMs);

  await sleep(Math.min(settings.startPeriodMs, settings.readyTimeoutMs), signal);
  for (let attempt = 1; ; attempt++) {
    const result = await probe({ timeoutMs: settings.timeoutMs, signal });
    signal?.throwIfAborted();
    ctx.onAttempt?.({ ...result, attempt, elapsedMs: elapsed() });
    if (result.ok) return { attempts: attempt, elapsedMs: elapsed(), detail: result.detail };
    const left = settings.readyTimeoutMs - (performance.now() - started);
    if (left <= 0) throw new ReadinessTimeoutError(settings.readyTimeoutMs, attempt, result.detail);
    await sleep(Math.min(delays.next().value, left), signal);
  }
}
