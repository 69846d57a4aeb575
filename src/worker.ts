// A stackflow worker: workflows on the shared queue, this host's process activities on its own
// queue, both on one connection (DESIGN.md "Temporal facts").
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
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
}

export interface StackflowWorker {
  run(): Promise<void>;
  shutdown(): void;
}

export async function createStackflowWorker(options: StackflowWorkerOptions): Promise<StackflowWorker> {
  const { connection, namespace, taskQueue, host } = options;
  const workflows = await Worker.create({
    connection,
    namespace,
    taskQueue,
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
    activities: createActivities({ bus: new ReadinessBus(), address: options.advertise }),
    // Supervision activities run for the services' lifetime: one per service, so no small cap.
    maxConcurrentActivityTaskExecutions: 2000,
  });
  const workers = [workflows, activities];
  return {
    run: async () => {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown: () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
