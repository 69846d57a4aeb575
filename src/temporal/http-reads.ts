// StackReads' calls over the Temporal server's HTTP API (the frontend's grpc-gateway JSON mapping of
// temporal.api.workflowservice.v1, `/api/v1/...`), with node:http only: the `status` command answers
// in tens of milliseconds where loading @temporalio/client alone takes hundreds (issue 11, item 12).
// Payloads are opened with src/codec/sealed-payload.ts and read as the SDK's default converter does.
import http from 'node:http';
import type { Payload } from '@temporalio/common';
import type { Keyring } from '../codec/keys.js';
import { openPayload, payloadValue } from '../codec/sealed-payload.js';
import type { ResourceSample } from '../lifecycle/hosts.js';
import { LIST_PAGE_SIZE, type TaskQueuePoller, type TemporalReads, type WorkflowSummary } from '../stack-reads.js';

/** Where the external server's HTTP API is (`host:port`): without it, commands read through the SDK. */
export const HTTP_ADDRESS_VARIABLE = 'TEMPORAL_HTTP_ADDRESS';
/** A call without a deadline of its own (describe, pollers) gets this one. */
const DEFAULT_DEADLINE_MS = 10_000;

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), which the gateway's error bodies carry.
const NOT_FOUND = 5;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/**
 * A failed call, shaped as the SDK's ServiceError (a gRPC `code`, `details`) so that cli/errors.ts
 * maps both alike: `unavailable` (14) when the server cannot be reached, `deadline exceeded` (4).
 */
export class TemporalHttpError extends Error {
  readonly details: string;
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'ServiceError';
    this.details = message;
  }
}

/**
 * The media type of canonical proto JSON: without it the gateway writes clear `json/plain` payloads
 * as their values ("payload shorthand"), re-serialised with sorted keys, which would reorder a
 * status's services. Temporal server's `proxy` package names it.
 */
const NO_SHORTHAND = 'application/json+no-payload-shorthand';

/** A payload in proto JSON: base64 metadata values and data. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface JsonPayloads {
  payloads?: JsonPayload[];
}

interface DescribeResponse {
  workflowExecutionInfo?: { status?: string; startTime?: string };
  pendingChildren?: { workflowId?: string }[];
  pendingActivities?: {
    state?: string;
    attempt?: number;
    lastHeartbeatTime?: string;
    lastStartedTime?: string;
    heartbeatDetails?: JsonPayloads;
  }[];
}

export interface HttpReadsOptions {
  /** `host:port` of the HTTP API. */
  address: string;
  namespace: string;
  /** null: STACKFLOW_ENCRYPTION=off (a sealed payload is then an EncryptionKeyError). */
  keyring: Keyring | null;
}

/** TemporalReads over the HTTP API. `close()` ends its kept-alive connections. */
export class HttpReads implements TemporalReads {
  private readonly agent = new http.Agent({ keepAlive: true });
  constructor(readonly options: HttpReadsOptions) {}

  async describeWorkflow(workflowId: string): Promise<WorkflowSummary | null> {
    const found = await this.call<DescribeResponse>('GET', `workflows/${encodeURIComponent(workflowId)}`, undefined, DEFAULT_DEADLINE_MS, true);
    if (!found) return null;
    const pending = found.pendingActivities?.[0];
    const millis = (t: string | undefined) => (t === undefined ? null : Date.parse(t));
    const sample = this.first(pending?.heartbeatDetails) as Partial<ResourceSample> | undefined;
    return {
      running: found.workflowExecutionInfo?.status === 'WORKFLOW_EXECUTION_STATUS_RUNNING',
      startTime: new Date(found.workflowExecutionInfo?.startTime ?? 0),
      pendingChildren: (found.pendingChildren ?? []).map((c) => c.workflowId ?? ''),
      ...(pending
        ? {
            pendingActivity: {
              started: pending.state === 'PENDING_ACTIVITY_STATE_STARTED',
              attempt: pending.attempt ?? 1,
              lastHeartbeatAt: millis(pending.lastHeartbeatTime),
              lastStartedAt: millis(pending.lastStartedTime),
              sample: sample && typeof sample.memoryBytes === 'number' ? (sample as ResourceSample) : null,
            },
          }
        : {}),
    };
  }

  async runningWorkflowIds(filter: string): Promise<string[]> {
    const query = encodeURIComponent(`${filter} AND ExecutionStatus = 'Running'`);
    const answer = await this.call<{ executions?: { execution?: { workflowId?: string } }[] }>('GET', `workflows?query=${query}&pageSize=${LIST_PAGE_SIZE}`, undefined, DEFAULT_DEADLINE_MS);
    return (answer?.executions ?? []).map((e) => e.execution?.workflowId ?? '');
  }

  async workflowPollers(taskQueue: string): Promise<TaskQueuePoller[]> {
    const path = `task-queues/${encodeURIComponent(taskQueue)}?taskQueueType=TASK_QUEUE_TYPE_WORKFLOW`;
    const answer = await this.call<{ pollers?: { identity?: string; lastAccessTime?: string }[] }>('GET', path, undefined, DEFAULT_DEADLINE_MS);
    return (answer?.pollers ?? []).map((p) => ({
      identity: p.identity ?? '',
      lastAccessAt: p.lastAccessTime === undefined ? null : Date.parse(p.lastAccessTime),
    }));
  }

  async query<T>(workflowId: string, queryType: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<T> {
    const path = `workflows/${encodeURIComponent(workflowId)}/query/${encodeURIComponent(queryType)}`;
    const answer = await this.call<{ queryResult?: JsonPayloads; queryRejected?: { status?: string } }>(
      'POST',
      path,
      { query: { queryType } },
      deadlineMs,
    );
    if (answer?.queryRejected) throw new TemporalHttpError(`query ${queryType} rejected (workflow status ${answer.queryRejected.status})`, 9);
    return this.first(answer?.queryResult) as T;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * The value of the first of `payloads` (undefined when there is none): opened with the keyring
   * when sealed, then read as the SDK's default payload converter reads it.
   */
  private first(payloads: JsonPayloads | undefined): unknown {
    const json = payloads?.payloads?.[0];
    if (json === undefined) return undefined;
    const payload: Payload = {
      metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      ...(json.data === undefined ? {} : { data: Buffer.from(json.data, 'base64') }),
    };
    return payloadValue(openPayload(payload, this.options.keyring));
  }

  /** One call; `notFoundIsNull`: a NOT_FOUND answer is null instead of an error. */
  private call<T>(method: 'GET' | 'POST', path: string, body: unknown, deadlineMs: number, notFoundIsNull = false): Promise<T | null> {
    const { address, namespace } = this.options;
    const url = `http://${address}/api/v1/namespaces/${encodeURIComponent(namespace)}/${path}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        url,
        {
          method,
          agent: this.agent,
          timeout: deadlineMs,
          headers: { accept: NO_SHORTHAND, ...(text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new TemporalHttpError(`${method} ${url}: HTTP ${response.statusCode}, not a JSON answer`, UNAVAILABLE));
              return;
            }
            if (response.statusCode === 200) {
              resolve(parsed as T);
              return;
            }
            const { code, message } = (parsed ?? {}) as { code?: number; message?: string };
            if (code === NOT_FOUND && notFoundIsNull) resolve(null);
            else reject(new TemporalHttpError(message ?? `HTTP ${response.statusCode}`, code ?? UNAVAILABLE));
          });
        },
      );
      request.on('timeout', () => request.destroy(new TemporalHttpError(`${method} ${url}: no answer within ${deadlineMs} ms`, DEADLINE_EXCEEDED)));
      request.on('error', (err) => reject(err instanceof TemporalHttpError ? err : new TemporalHttpError(`${method} ${url}: ${err.message}`, UNAVAILABLE)));
      request.end(text);
    });
  }
}
