// The host's readiness bus: what this worker's own activities learned about the processes they run
// (spawned, healthy, completed, exited, stopped), so that a dependent's gated spawn and a
// dependency's ordered stop can proceed the instant their conditions hold on this host, without a
// round trip through Temporal (docs/architecture.md, "hand-off" and "drain").
//
// In-process and volatile by design: after a worker restart it is empty. A gated spawn then waits
// for the stack workflow's release (it tracks the same conditions from the services' reports), and
// a stop waiting for its dependents reads their process records, which survive the restart.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DependencyCondition } from '../model.js';
import type { DependencyGate } from '../lifecycle/plan.js';
import { isRunning, readRecord } from '../process/record.js';

/** The last thing this worker saw happen to a service's process. */
export type ProcessFact =
  /** A spawn is under way (the gate opened): the process may appear any moment. */
  | 'spawning'
  /** The process runs (readiness not yet seen). */
  | 'started'
  /** Its readiness probe passed (and it is in registry.json), or its supervision resumed after an adoption. */
  | 'healthy'
  /** It exited with code 0 and its restart policy does not run it again. */
  | 'completed'
  /** It exited otherwise, or failed to start. */
  | 'exited'
  /** stackflow stopped it. */
  | 'stopped';

interface Fact {
  fact: ProcessFact;
  pid: number | null;
}

/** How often a stop waiting for its dependents re-reads their process records besides the bus's own events. */
const RECORD_RECHECK_MS = 250;

/** Which facts meet a depends_on condition (SPEC §4). */
const MEETS: Record<DependencyCondition, ReadonlySet<ProcessFact>> = {
  started: new Set(['started', 'healthy', 'completed']),
  healthy: new Set(['healthy']),
  completed_successfully: new Set(['completed']),
};

/**
 * One per worker, shared by all its activities. Keys are `<stackDir>` + service name, so two stacks
 * (or two test worlds) on one worker never see each other's facts.
 */
export class ReadinessBus {
  private readonly facts = new Map<string, Fact>();
  private readonly events = new EventEmitter();
  /** The in-flight spawn per service: a later spawn or a stop of the service supersedes it. */
  private readonly spawns = new Map<string, { abort: AbortController; done: Promise<unknown> }>();

  constructor() {
    // Every waiting gate and stop listens: hundreds on a large stack.
    this.events.setMaxListeners(0);
  }

  /** Records what happened to `service`'s process and wakes every waiter of that stack. */
  publish(stackDir: string, service: string, fact: ProcessFact, pid: number | null = null): void {
    this.facts.set(key(stackDir, service), { fact, pid });
    this.events.emit(stackDir);
  }

  /** The last fact about `service`, if this worker has seen one. */
  fact(stackDir: string, service: string): ProcessFact | undefined {
    return this.facts.get(key(stackDir, service))?.fact;
  }

  /** True when every gate's condition holds on this host now. */
  met(stackDir: string, gates: DependencyGate[]): boolean {
    return gates.every((gate) => {
      const known = this.facts.get(key(stackDir, gate.service));
      if (!known) return false;
      if (gate.stalePid != null && known.pid === gate.stalePid) return false;
      return MEETS[gate.condition].has(known.fact);
    });
  }

  /** Resolves the instant every gate holds; rejects with the signal's reason when it aborts. */
  waitForDependencies(stackDir: string, gates: DependencyGate[], signal: AbortSignal): Promise<void> {
    return this.waitUntil(stackDir, signal, () => this.met(stackDir, gates));
  }

  /**
   * Resolves once none of `services` has a process left on this host: no spawn under way and no
   * live recorded process (the records make this hold after a worker restart too).
   */
  waitForStopped(stackDir: string, services: string[], signal: AbortSignal): Promise<void> {
    const gone = async () => {
      for (const service of services) {
        if (this.fact(stackDir, service) === 'spawning') return false;
        const record = await readRecord(stackDir, service);
        if (record && isRunning(record)) return false;
      }
      return true;
    };
    return this.waitUntil(stackDir, signal, gone, RECORD_RECHECK_MS);
  }

  /**
   * Runs one spawn of `service` as the current one: an earlier spawn still waiting at its gate is
   * aborted first and awaited (so two spawns never race for one service). `work` gets a signal that
   * aborts when a later spawn or a stop supersedes this one.
   */
  async runSpawn<T>(stackDir: string, service: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const id = key(stackDir, service);
    const previous = this.spawns.get(id);
    previous?.abort.abort(new GateSuperseded(service));
    const abort = new AbortController();
    const done = (async () => {
      await previous?.done;
      abort.signal.throwIfAborted();
      return work(abort.signal);
    })();
    const entry = { abort, done: done.catch(() => undefined) };
    this.spawns.set(id, entry);
    try {
      return await done;
    } finally {
      if (this.spawns.get(id) === entry) this.spawns.delete(id);
    }
  }

  /** Aborts the service's spawn if it still waits at its gate, and waits until it has settled. */
  async supersedeSpawn(stackDir: string, service: string): Promise<void> {
    const current = this.spawns.get(key(stackDir, service));
    if (!current) return;
    current.abort.abort(new GateSuperseded(service));
    await current.done;
  }

  private async waitUntil(stackDir: string, signal: AbortSignal, check: () => boolean | Promise<boolean>, recheckMs?: number): Promise<void> {
    signal.throwIfAborted();
    let wake: () => void = () => undefined;
    const onEvent = () => wake();
    this.events.on(stackDir, onEvent);
    const stop = aborted(signal);
    try {
      for (;;) {
        // Armed before the check: an event during an async check is not lost.
        const woken = new Promise<void>((resolve) => (wake = resolve));
        if (await check()) return;
        signal.throwIfAborted();
        const waits: Promise<unknown>[] = [woken, stop];
        if (recheckMs !== undefined) waits.push(sleep(recheckMs, undefined, { signal }).catch(() => undefined));
        await Promise.race(waits);
        signal.throwIfAborted();
      }
    } finally {
      this.events.off(stackDir, onEvent);
    }
  }
}

/** A gated spawn gave way to a later spawn or a stop of the same service. */
export class GateSuperseded extends Error {
  constructor(service: string) {
    super(`${service}: spawn superseded while waiting for its dependencies`);
    this.name = 'GateSuperseded';
  }
}

function key(stackDir: string, service: string): string {
  return `${stackDir}\0${service}`;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
