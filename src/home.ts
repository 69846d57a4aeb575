// Creating STACKFLOW_HOME itself. Node's `mkdir(path, { recursive: true })` loops forever where a
// parent refuses new entries with ENOENT (procfs, sysfs: `mkdir("/proc/nope")` is ENOENT while
// `mkdir("/proc")` is EEXIST), so the home is made one component at a time; recursive mkdirs below
// it are safe once it exists.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** STACKFLOW_HOME cannot be created where it points (CLI exit code 1). */
export class HomeNotCreatableError extends Error {
  readonly exitCode = 1;

  constructor(
    readonly home: string,
    readonly parent: string,
  ) {
    super(
      `cannot create STACKFLOW_HOME ${home}: ${parent} does not allow creating directories in it (ENOENT). ` +
        'Point STACKFLOW_HOME at a writable directory (default ./.stackflow beside the stack file).',
    );
    this.name = 'HomeNotCreatableError';
  }
}

/**
 * Makes the directory `home` (absolute or relative to the working directory) exist: from its
 * nearest existing ancestor, each missing component with a non-recursive mkdir, so it never loops.
 * Throws HomeNotCreatableError when a parent refuses with ENOENT; other file-system errors
 * (EACCES, ENOTDIR, EROFS, ENOSPC...) propagate with their path, as cli/errors.ts words them.
 */
export async function ensureHome(home: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = resolve(home); ; dir = dirname(dir)) {
    const found = await stat(dir).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (found || dir === dirname(dir)) break;
    missing.unshift(dir);
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new HomeNotCreatableError(resolve(home), dirname(dir));
      // Made meanwhile by another command: fine when it is a directory (mkdir of the next one tells otherwise).
      if (code !== 'EEXIST') throw err;
    }
  }
}
