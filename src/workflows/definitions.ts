// Every Temporal name stackflow uses (SPEC §5). Workflows, worker, client and CLI import these;
// nobody retypes a string. Must stay importable from workflow code: no Node modules here.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { BackoffInfo, ExitInfo, ProcessRef, ServiceState, StackSpec, StackStatus } from '../model.js';
import type { ReloadPlan } from '../lifecycle/reload.js';
import { STACK_NAME_SEARCH_ATTRIBUTE, STACK_SPEC_QUERY, STATUS_QUERY } from './ids.js';

export { DEFAULT_TASK_QUEUE, hostTaskQueue, serviceWorkflowId, stackWorkflowId } from './ids.js';

export const stackNameKey = defineSearchAttributeKey(STACK_NAME_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);

// --- stack workflow messages ---

export interface ShutdownRequest {
  reason?: string;
  /** Budget for the whole drain: services still stopping when it is spent are SIGKILLed. */
  timeoutMs?: number;
}

export interface RestartRequest {
  service: string;
  withDependents?: boolean;
  /** Why, in words, shown in the restart's activity summaries (e.g. `2 files changed (apps/data/main.py, ...)`). */
  cause?: string;
}

export const shutdownSignal = defineSignal<[ShutdownRequest?]>('shutdown');
export const restartServiceSignal = defineSignal<[RestartRequest]>('restartService');
/** Answers, once the service is healthy again, with the dependents it stopped and started again (in start order). */
export const restartServiceUpdate = defineUpdate<string[], [RestartRequest]>('restartService');
export const statusQuery = defineQuery<StackStatus>(STATUS_QUERY);

/** One running instance in the stack's registry (a replicated service has one entry per instance). */
export interface RegistryEntry {
  /** The instance's service name (`api`, or `api#1` for a replica). */
  service: string;
  host: string;
  /** Where other hosts reach it: the stack file's `hosts.<id>.address`, else what its worker advertised. */
  address: string | null;
  port: number | null;
  /** `http://<address>:<port>` (null without a port or an address). */
  url: string | null;
  pid: number | null;
  state: ServiceState;
  healthyAt: string | null;
}
/**
 * The stack's registry: what the stack workflow knows from its services' reports, across hosts. Each
 * host's `registry.json` is only that host's view of its own services.
 */
export const registryQuery = defineQuery<RegistryEntry[]>('registry');
/** The stack definition the running workflow works from (to compare with an edited file). */
export const stackSpecQuery = defineQuery<StackSpec>(STACK_SPEC_QUERY);
/** Applies an edited stack file; answers with the plan once added and changed services have settled. */
export const applyConfigUpdate = defineUpdate<ReloadPlan, [StackSpec]>('applyConfig');

/** Adds services (and what they need) to a running stack: `up svc...` on a stack that is already up. */
export interface StartServicesRequest {
  stack: StackSpec;
  services: string[];
}
export const startServicesUpdate = defineUpdate<string[], [StartServicesRequest]>('startServices');

// --- service workflow <-> stack workflow ---

/** What a service workflow tells its stack workflow whenever its state changes. */
export interface ServiceReport {
  service: string;
  /** Counts up per service workflow (across its continue-as-new): a late, older report is ignored. */
  seq: number;
  state: ServiceState;
  pid?: number | null;
  /** The address its host's worker advertises (from the spawn's result). */
  address?: string | null;
  restarts?: number;
  manualRestarts?: number;
  /** Set with `restarting` after a crash; null once healthy again. */
  backoff?: BackoffInfo | null;
  startedAt?: string | null;
  healthyAt?: string | null;
  lastExit?: ExitInfo | null;
  error?: string | null;
  /** With the last report: what its stops could not end (ServiceStatus.leftRunning). */
  leftRunning?: ProcessRef[];
}

export const serviceReportSignal = defineSignal<[ServiceReport]>('serviceReport');

export interface StopRequest {
  reason?: string;
  /** Kill the process group now instead of waiting for a graceful stop. */
  force?: boolean;
  /**
   * Dependents on the same host that are being stopped too: the host signals this service's process
   * only once theirs are gone (the reverse-order drain, kept without a round trip per level).
   */
  after?: string[];
}
/** Sent by the stack workflow to one service workflow: stop the process and complete. */
export const stopServiceSignal = defineSignal<[StopRequest?]>('stopService');
export interface RestartNowRequest {
  /** Why, shown in the summaries of the restart's stop and spawn. */
  cause?: string;
}
/** Sent by the stack workflow to one service workflow: restart the process now. */
export const restartNowSignal = defineSignal<[RestartNowRequest?]>('restartNow');
/**
 * Sent by the stack workflow to a service workflow whose spawn waits at its host gate while the
 * stack's reports say the dependencies' conditions hold (the host's readiness bus lost them, e.g.
 * in a worker restart): spawn now, without the gate.
 */
export const dependenciesMetSignal = defineSignal('dependenciesMet');

/**
 * Stops services of a running stack and keeps them stopped (compose's `stop <svc…>`): the stack
 * workflow stays up; `startServices` brings them back. Answers with the names it stopped.
 */
export interface StopServicesRequest {
  services: string[];
  /** Budget for the stop: what is still stopping when it is spent is SIGKILLed. */
  timeoutMs?: number;
}
export const stopServicesUpdate = defineUpdate<string[], [StopServicesRequest]>('stopServices');
