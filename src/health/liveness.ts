import type { LivenessSettings } from '../model.js';
import { sleep } from '../process/wait.js';
import { createProbe, type ProbeContext, type ProbeResult } from './probes.js';

export interface LivenessContext extends ProbeContext {
  signal: AbortSignal;
  onAttempt?: (result: ProbeResult, consecutiveFailures: number) => void;
}

/**
 * Probes every `intervalMs` after `startPeriodMs` and resolves once `failureThreshold` probes in a
 * row have failed, with the last failure's detail. Runs until then or until the signal aborts
 * (rejecting with its reason).
 */
export async function watchLiveness(settings: LivenessSettings, ctx: LivenessContext): Promise<{ detail: string }> {
  const { signal } = ctx;
  const threshold = Math.max(1, settings.failureThreshold);
  const probe = createProbe(settings.probe, ctx);

  await sleep(settings.startPeriodMs, signal);
  let failures = 0;
  for (;;) {
    const began = performance.now();
    const result = await probe({ timeoutMs: settings.timeoutMs, signal });
    signal.throwIfAborted();
    failures = result.ok ? 0 : failures + 1;
    ctx.onAttempt?.(result, failures);
    if (failures >= threshold) return { detail: result.detail };
    // A fixed rate: the time the probe took counts toward the interval.
    await sleep(Math.max(0, settings.intervalMs - (performance.now() - began)), signal);
  }
}
