// Inputs and outputs of the host activities. Type-only for workflow code; plain data over the wire.
import type { ExitInfo, ServiceSpec } from '../model.js';
import type { DependencyGate } from '../lifecycle/plan.js';
import type { ServiceReport } from '../workflows/definitions.js';

export type { DependencyGate };

export interface ServiceActivityInput {
  /** `<STACKFLOW_HOME>/<stack>`: logs, run records and registry live here. */
  stackDir: string;
  spec: ServiceSpec;
}

/**
 * A report the activity sends the stack workflow itself once it succeeds, completed with what it
 * learned (pid, healthyAt, ...): the service workflow does not signal it afterwards, which saves it a
 * workflow task per report and tells the stack sooner.
 */
export interface ReportTo {
  /** The stack workflow's id. */
  workflowId: string;
  report: ServiceReport;
}

export interface SpawnInput extends ServiceActivityInput {
  workflowId: string;
  runId: string;
  reportTo?: ReportTo;
  /**
   * Same-host dependencies whose conditions must hold before the spawn: the activity waits for them
   * on the host's readiness bus (it heartbeats meanwhile). Empty or absent: spawn at once.
   */
  waitFor?: DependencyGate[];
  /**
   * The run boundary written into the service's log just before a fresh spawn (never when an
   * existing process is adopted): e.g. `— run 3 (after 2 crash restarts): node viz.mjs`.
   */
  marker?: string;
}

export interface SpawnResult {
  pid: number;
  startedAt: string;
  adopted: boolean;
  /** The address its host's worker advertises (`worker --advertise`): where other hosts reach it. */
  address?: string;
  /** What the spawn waited for (`db healthy, cache started`) and how long (ms); absent when ungated. */
  waited?: { for: string; ms: number };
}

export interface ProcessInput extends ServiceActivityInput {
  pid: number;
}

export interface AwaitHealthyInput extends ProcessInput {
  reportTo?: ReportTo;
}

export type HealthyResult =
  /** Ready and entered in registry.json; `registryError` says why the entry could not be written (the service still counts as healthy). */
  | { kind: 'healthy'; healthyAt: string; attempts: number; detail: string; registryError?: string }
  /** A one-shot job may finish (exit 0) before its readiness is ever seen: that is success, not a failed start. */
  | { kind: 'exited'; exit: ExitInfo };

export interface StopInput extends ServiceActivityInput {
  /** Same-host dependents whose processes must be gone before this one is signalled (reverse-order drain). */
  after?: string[];
  /**
   * Written into the service's log once its process is gone (nothing else writes then):
   * `— exited (SIGKILL), restarting in 950ms`. `exit` is the run's own exit when supervision saw it;
   * without it the exit the stop observed is used. `cause` replaces the exit when a start failed
   * for a reason the exit does not tell: `— not started: port 8001 is held by pid 12233 (…), restarting in 1070ms`.
   */
  marker?: { exit?: ExitInfo; cause?: string; then: string };
}

export interface SupervisionResult {
  /** `exit`: the process ended; `liveness`: it stopped answering its liveness probe. */
  reason: 'exit' | 'liveness';
  exit: ExitInfo | null;
  detail: string;
}

export interface StopResult {
  exit: ExitInfo | null;
  escalated: boolean;
  /** Processes of the service still alive after the stop (pid, command): `down` names them and exits 1. */
  remaining: { pid: number; command: string }[];
  /** The recorded pid names a live process stackflow did not start: never signalled, reported. */
  notOurs: { pid: number; command: string }[];
  /** How long the stop waited for its dependents' processes to be gone (ms), when it had any to wait for. */
  waitedForDependentsMs?: number;
  /**
   * The process is stopped, but its registry.json entry could not be removed: bookkeeping never
   * holds up a stop; the failure is reported after it.
   */
  registryError?: string;
}
