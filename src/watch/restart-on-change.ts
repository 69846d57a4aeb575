// The development loop: a supervised service with `watch:` is restarted through its stack workflow
// when its files change, the same path as `stackflow restart` (so the Web UI shows it, with the
// changed files as the cause, and dependents follow the usual restart rules).
import { relative } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { ServiceSpec } from '../model.js';
import { restartServiceSignal, stackWorkflowId } from '../workflows/definitions.js';
import { describeChanges } from './changes.js';
import { watchFiles } from './watcher.js';

export interface RestartOnChangeOptions {
  /** A client on the worker's connection (the activity context's `client`). */
  client: Client;
  log: Logger;
  /** Aborted when supervision ends (the service stopped or exited, or the worker shuts down): the watch ends with it. */
  signal: AbortSignal;
}

/**
 * While `signal` is not aborted, sends the stack workflow's `restartService` signal
 * `{ service, cause: "2 files changed (apps/data/main.py, …)" }` once per burst of changes under
 * `spec.watch`. Never throws: a watch that cannot start or a signal that cannot be sent is logged
 * and supervision goes on without it. The stack is the one named by the service's `STACKFLOW_STACK`.
 */
export function restartOnChange(spec: ServiceSpec, { client, log, signal }: RestartOnChangeOptions): void {
  const settings = spec.watch;
  if (!settings || signal.aborted) return;
  const stack = spec.env.STACKFLOW_STACK!;
  const handle = client.workflow.getHandle(stackWorkflowId(stack));
  const requestRestart = (files: string[]) => {
    const cause = describeChanges(files);
    log.info(`${spec.name}: ${cause}: asking for a restart`, { service: spec.name, files });
    handle.signal(restartServiceSignal, { service: spec.name, cause }).catch((error: unknown) => {
      log.warn(`${spec.name}: ${cause}, but the restart could not be asked for: ${String(error)}`, { service: spec.name });
    });
  };
  watchFiles(settings, {
    base: spec.cwd,
    onChanges: requestRestart,
    onError: (error) => log.warn(`${spec.name}: watching ${settings.paths.join(', ')} failed: ${error.message}`, { service: spec.name }),
  }).then(
    (watch) => {
      const close = () =>
        watch.close().catch((error: unknown) => log.warn(`${spec.name}: ending the watch failed: ${String(error)}`, { service: spec.name }));
      if (signal.aborted) {
        void close();
        return;
      }
      signal.addEventListener('abort', () => void close(), { once: true });
      const watched = settings.paths.map((path) => relative(spec.cwd, path) || '.').join(', ');
      log.info(`${spec.name}: watching ${watched} for changes`, { service: spec.name });
    },
    (error: unknown) => log.warn(`${spec.name}: not watching for changes: ${(error as Error).message}`, { service: spec.name }),
  );
}
