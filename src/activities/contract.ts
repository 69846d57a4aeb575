// Inputs and outputs of the host activities. Type-only for workflow code; plain data over the wire.
import type { ExitInfo, ServiceSpec } from '../model.js';

export interface ServiceActivityInput {
  /** `<STACKFLOW_HOME>/<stack>`: logs, run records and registry live here. */
  stackDir: string;
  spec: ServiceSpec;
}

export interface SpawnInput extends ServiceActivityInput {
  workflowId: string;
  runId: string;
}

export interface SpawnResult {
  pid: number;
  startedAt: string;
  adopted: boolean;
}

export interface ProcessInput extends ServiceActivityInput {
  pid: number;
}

export type HealthyResult =
  | { kind: 'healthy'; healthyAt: string; attempts: number; detail: string }
  /** A one-shot job may finish (exit 0) before its readiness is ever seen: that is success, not a failed start. */
  | { kind: 'exited'; exit: ExitInfo };

export interface RegisterInput extends ProcessInput {
  healthyAt: string;
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
}
