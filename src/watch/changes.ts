// The decisions of file watching, without a file system: which changes count, when a burst of them
// is over, and how to say what changed. The watcher (watcher.ts) feeds them real events.
import picomatch from 'picomatch';

/**
 * `ignore` globs -> a test of a path relative to a watched folder (`/`-separated, e.g.
 * `sub/__pycache__/x.pyc`). As in `.gitignore` (and compose's `develop.watch.ignore`, which follows
 * `.dockerignore`): a pattern without `/` matches a file or folder name at any depth (`*.pyc`,
 * `__pycache__`); one with `/` matches the whole relative path (`**\/__pycache__/**`, `build/*`);
 * everything under an ignored folder is ignored. Globs are picomatch's, dot files included.
 */
export function ignoreMatcher(patterns: string[]): (relativePath: string) => boolean {
  const byName = patterns.filter((pattern) => !pattern.includes('/'));
  const byPath = patterns.filter((pattern) => pattern.includes('/'));
  const nameMatches = byName.length > 0 ? picomatch(byName, { dot: true }) : () => false;
  const pathMatches = byPath.length > 0 ? picomatch(byPath, { dot: true }) : () => false;
  return (relativePath) => {
    const segments = relativePath.split('/').filter((segment) => segment !== '' && segment !== '.');
    return segments.some((segment, index) => nameMatches(segment) || pathMatches(segments.slice(0, index + 1).join('/')));
  };
}

/** Shown in a restart's summary: `2 files changed (apps/data/main.py, apps/data/db.py)`; at most 3 names, then `…`. */
export function describeChanges(files: string[]): string {
  const SHOWN = 3;
  const names = files.slice(0, SHOWN).join(', ') + (files.length > SHOWN ? ', …' : '');
  return `${files.length} ${files.length === 1 ? 'file' : 'files'} changed (${names})`;
}

/** The timer functions a ChangeBatcher uses; the global ones by default (tests pass fakes). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const GLOBAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Collects changed files into bursts: `flush` is called once per burst, `debounceMs` after its last
 * change (a trailing debounce, like process-compose's `watch.debounce` and compose's watch batching),
 * with every distinct file of the burst in the order first seen. So a burst of saves never asks for
 * more than one restart, and the restart sees the last of them.
 */
export class ChangeBatcher {
  private files = new Set<string>();
  private timer: unknown;
  private closed = false;

  constructor(
    private readonly debounceMs: number,
    private readonly flush: (files: string[]) => void,
    private readonly timers: Timers = GLOBAL_TIMERS,
  ) {}

  /** Adds changed files (relative paths) and restarts the quiet period; ignored once closed. */
  add(files: Iterable<string>): void {
    const added = [...files];
    if (this.closed || added.length === 0) return;
    for (const file of added) this.files.add(file);
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      const batch = [...this.files];
      this.files = new Set();
      this.timer = undefined;
      this.flush(batch);
    }, this.debounceMs);
  }

  /** Drops a pending burst: after close nothing is flushed. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.files.clear();
  }
}
