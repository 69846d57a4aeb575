// Watches a service's `watch.paths` with @parcel/watcher (native inotify/FSEvents/ReadDirectoryChangesW
// subscriptions, one per path, recursive, events already coalesced into batches) and reports each
// burst of relevant changes once, through ChangeBatcher.
import { subscribe, type AsyncSubscription, type Event } from '@parcel/watcher';
import { stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type { WatchSettings } from '../model.js';
import { ChangeBatcher, ignoreMatcher } from './changes.js';

/** A running watch; `close` ends every subscription and drops a pending burst. */
export interface FileWatch {
  close(): Promise<void>;
}

export interface WatchFilesOptions {
  /** Changed files are reported relative to this folder (the service's cwd), `/`-separated. */
  base: string;
  /** Once per burst of changes, `debounce` after its last one. */
  onChanges: (files: string[]) => void;
  /** A watcher failure after the start (e.g. the folder was removed); watching may have stopped. */
  onError: (error: Error) => void;
}

const toSlashes = (path: string) => path.split(sep).join('/');

/**
 * Starts watching every path of `settings` (a folder recursively, a file by its folder). Rejects,
 * naming the path, when one does not exist: nothing is left subscribed then.
 */
export async function watchFiles(settings: WatchSettings, options: WatchFilesOptions): Promise<FileWatch> {
  const batcher = new ChangeBatcher(settings.debounceMs, options.onChanges);
  const ignored = ignoreMatcher(settings.ignore);
  const subscriptions: AsyncSubscription[] = [];
  const close = async () => {
    batcher.close();
    await Promise.all(subscriptions.splice(0).map((s) => s.unsubscribe()));
  };
  try {
    for (const path of settings.paths) {
      const found = await stat(path).catch(() => undefined);
      if (!found) throw new Error(`watch path ${path} does not exist`);
      const folder = found.isDirectory() ? path : dirname(path);
      // A watched file: only its own events count, and ignore globs apply to its name.
      const relevant = (event: Event) =>
        (found.isDirectory() || event.path === path) && !ignored(toSlashes(relative(folder, event.path)));
      const onEvents = (error: Error | null, events: Event[]) => {
        if (error) options.onError(error);
        else batcher.add(events.filter(relevant).map((event) => toSlashes(relative(options.base, event.path))));
      };
      subscriptions.push(await subscribe(folder, onEvents));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}
