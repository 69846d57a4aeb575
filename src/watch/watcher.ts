// Watches a service's `watch.paths` with @parcel/watcher (native inotify/FSEvents/ReadDirectoryChangesW
// subscriptions, one per path, recursive, events already coalesced into batches) and reports each
// burst of relevant changes once, through ChangeBatcher.
import { subscribe, type AsyncSubscription, type Event } from '@parcel/watcher';
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
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
  /**
   * Epoch ms: files modified after it and before the watch began count as the first changes. Given
   * the process's start time, nothing saved while it was starting (or while no worker watched) is missed.
   */
  changedAfterMs?: number;
}

const toSlashes = (path: string) => path.split(sep).join('/');

/** The files under `folder` (absolute paths) modified after `sinceMs`, not descending into ignored folders. */
async function modifiedAfter(folder: string, sinceMs: number, ignored: (relativePath: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((): Dirent[] => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (ignored(toSlashes(relative(folder, path)))) continue;
      if (entry.isDirectory()) await walk(path);
      else if (((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > sinceMs) found.push(path);
    }
  };
  await walk(folder);
  return found;
}

/**
 * Starts watching every path of `settings` (a folder recursively, a file by its folder). Rejects,
 * naming the path, when one does not exist: nothing is left subscribed then.
 */
export async function watchFiles(settings: WatchSettings, options: WatchFilesOptions): Promise<FileWatch> {
  const batcher = new ChangeBatcher(settings.debounceMs, options.onChanges);
  const ignored = ignoreMatcher(settings.ignore);
  const subscriptions: AsyncSubscription[] = [];
  const catchUp: Promise<string[]>[] = [];
  const close = async () => {
    batcher.close();
    await Promise.all(subscriptions.splice(0).map((s) => s.unsubscribe()));
  };
  const report = (paths: string[]) => batcher.add(paths.map((path) => toSlashes(relative(options.base, path))));
  try {
    for (const path of settings.paths) {
      const found = await stat(path).catch(() => undefined);
      if (!found) throw new Error(`watch path ${path} does not exist`);
      const folder = found.isDirectory() ? path : dirname(path);
      // A watched file: only its own events count, and ignore globs apply to its name.
      const relevant = (changed: string) => (found.isDirectory() || changed === path) && !ignored(toSlashes(relative(folder, changed)));
      const onEvents = (error: Error | null, events: Event[]) => {
        if (error) options.onError(error);
        else report(events.map((event) => event.path).filter(relevant));
      };
      subscriptions.push(await subscribe(folder, onEvents));
      // After subscribing, so a change is either seen here or by the subscription (the batcher keeps one of each file).
      const since = options.changedAfterMs;
      if (since !== undefined) {
        // (a watched file: its folder with everything but the file left out)
        const leftOut = found.isDirectory() ? ignored : (name: string) => !relevant(join(folder, name));
        catchUp.push(modifiedAfter(path === folder ? path : folder, since, leftOut));
      }
    }
    report((await Promise.all(catchUp)).flat());
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}
