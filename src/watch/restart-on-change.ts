// The development loop: a supervised service with `watch:` is restarted through its stack workflow
// when its files change, the same path as `stackflow restart` (so the Web UI shows it, with the
// changed files as the cause, and dependents follow the usual restart rules).
import { relative } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { ServiceSpec } from '../model.js';
import { restartServiceSignal, stackWorkflowId } from '../workflows/definitions.js';
import { describeChanges } from './changes.js';
import { watchFiles, type FileWatch } from './watcher.js';

export interface RestartOnChangeOptions {
  /** A client on the worker's connection (the activity context's `client`). */
  client: Client;
  log: Logger;
  /** Aborted when supervision ends (the service stopped or exited, or the worker shuts down): the watch ends with it. */
  signal: AbortSignal;
  /** When the supervised process started (epoch ms): files saved since then, before the watch began, count too. */
  processStartedMs: number;
}

/**
 * While `signal` is not aborted, watches `spec.watch` and, on the first burst of changes, sends the
 * stack workflow's `restartService` signal `{ service, cause: "2 files changed (apps/data/main.py, …)" }`
 * and stops watching: the restart ends this supervision, and the next one watches again, catching up
 * on whatever was saved after its own process started. So one supervision asks for one restart.
 * Never throws: a watch that cannot start or a signal that cannot be sent is logged and supervision
 * goes on without it. The stack is the one named by the service's `STACKFLOW_STACK`.
 */
export function restartOnChange(spec: ServiceSpec, options: RestartOnChangeOptions): void {
  const { client, log, signal } = options;
  const settings = spec.watch;
  if (!settings || signal.aborted) return;
  const meta = { service: spec.name };
  let watch: FileWatch | undefined;
  let requested = false;
  const stop = () => {
    const ending = watch;
    watch = undefined;
    ending?.close().catch((error: unknown) => log.warn(`${spec.name}: ending the watch failed: ${String(error)}`, meta));
  };
  const requestRestart = (files: string[]) => {
    if (requested) return;
    requested = true;
    stop();
    const cause = describeChanges(files);
    log.info(`${spec.name}: ${cause}: asking for a restart`, { ...meta, files });
    client.workflow
      .getHandle(stackWorkflowId(spec.env.STACKFLOW_STACK!))
      .signal(restartServiceSignal, { service: spec.name, cause })
      .catch((error: unknown) => log.warn(`${spec.name}: ${cause}, but the restart could not be asked for: ${String(error)}`, meta));
  };
  watchFiles(settings, {
    base: spec.cwd,
    onChanges: requestRestart,
    onError: (error) => log.warn(`${spec.name}: watching ${settings.paths.join(', ')} failed: ${error.message}`, meta),
    changedAfterMs: options.processStartedMs,
  }).then(
    (started) => {
      watch = started;
      if (signal.aborted || requested) {
        stop();
        return;
      }
      signal.addEventListener('abort', stop, { once: true });
      const watched = settings.paths.map((path) => relative(spec.cwd, path) || '.').join(', ');
      log.info(`${spec.name}: watching ${watched} for changes`, meta);
    },
    (error: unknown) => log.warn(`${spec.name}: not watching for changes: ${(error as Error).message}`, meta),
  );
}
