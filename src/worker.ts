// A stackflow worker: workflows on the shared queue, this host's process activities on its own
// queue, both on one connection (DESIGN.md "Temporal facts"); and the codec endpoint the Web UI
// decodes payloads through (SPEC §7a).
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { startCodecEndpoint, type CodecEndpoint } from './codec/index.js';
import { ReadinessBus } from './host/readiness-bus.js';
import { hostTaskQueue } from './workflows/definitions.js';
import { WORKFLOW_BUNDLE_PATH } from './paths.js';

export interface StackflowWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  host: string;
  /** Where other hosts reach this host's services (`<DEP>_URL` of their dependents); default 127.0.0.1. */
  advertise?: string;
  workflowBundlePath?: string;
  /** stackflow's (codec/stackflowDataConverter): the same as the clients', or payloads cannot be read. */
  dataConverter: DataConverter;
  /** Serve the codec endpoint on this loopback port (0: a free one); absent: not served. */
  codecEndpoint?: { port: number; extraOrigins?: string[] };
  /** Told when the endpoint cannot be served (its port taken, e.g. by another worker on this machine). */
  log?: (line: string) => void;
}

export interface StackflowWorker {
  /** The codec endpoint this worker serves, if any. */
  codecEndpoint: CodecEndpoint | null;
  run(): Promise<void>;
  shutdown(): void;
}

/** Decoding without encryption (STACKFLOW_ENCRYPTION=off): the endpoint still redacts secrets. */
const clearCodec: PayloadCodec = { encode: async (p) => p, decode: async (p) => p };

export async function createStackflowWorker(options: StackflowWorkerOptions): Promise<StackflowWorker> {
  const { connection, namespace, taskQueue, host, dataConverter } = options;
  const workflows = await Worker.create({
    connection,
    namespace,
    taskQueue,
    dataConverter,
    workflowBundle: { codePath: options.workflowBundlePath ?? WORKFLOW_BUNDLE_PATH },
    // After a worker dies, its cached workflows wait this long on its sticky queue (default 10 s)
    // before another worker takes them: the floor of every recovery.
    stickyQueueScheduleToStartTimeout: '2s',
  });
  // The host's queue carries this host's service workflows and their activities: one queue, so the
  // server hands an activity scheduled by a workflow task straight back in the task's completion
  // (eager activity execution) instead of through its transfer queue (docs/architecture.md).
  const activities = await Worker.create({
    connection,
    namespace,
    taskQueue: hostTaskQueue(taskQueue, host),
    workflowBundle: { codePath: options.workflowBundlePath ?? WORKFLOW_BUNDLE_PATH },
    stickyQueueScheduleToStartTimeout: '2s',
    dataConverter,
    activities: createActivities({ bus: new ReadinessBus(), address: options.advertise }),
    // Supervision activities run for the services' lifetime: one per service, so no small cap.
    maxConcurrentActivityTaskExecutions: 2000,
  });
  const codecEndpoint = options.codecEndpoint ? await serveCodec(dataConverter, options.codecEndpoint, options.log) : null;
  const workers = [workflows, activities];
  return {
    codecEndpoint,
    run: async () => {
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        await codecEndpoint?.close();
      }
    },
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}

async function serveCodec(
  dataConverter: DataConverter,
  { port, extraOrigins }: { port: number; extraOrigins?: string[] },
  log: (line: string) => void = () => undefined,
): Promise<CodecEndpoint | null> {
  try {
    return await startCodecEndpoint({ codec: dataConverter.payloadCodecs?.[0] ?? clearCodec, port, extraOrigins });
  } catch (err) {
    log(`Not serving the codec endpoint on 127.0.0.1:${port}: ${(err as Error).message} (another worker on this machine may serve it).`);
    return null;
  }
}
