import { readJson, writeJsonAtomic } from './json-file.js';

/** What the registry says about a healthy service (SPEC §7). */
export interface RegistryEntry {
  url: string | null;
  host: string;
  port: number | null;
  pid: number;
  healthyAt: string;
}

export type RegistryContent = Record<string, RegistryEntry>;

/** Where healthy services are announced; the file backend is the only one so far. */
export interface ServiceRegistry {
  register(name: string, entry: RegistryEntry): Promise<void>;
  deregister(name: string): Promise<void>;
  read(): Promise<RegistryContent>;
}

/**
 * `registry.json`, rewritten atomically on every change. Changes made through one instance are
 * serialized so concurrent read-modify-write cycles do not lose each other's updates; separate
 * processes writing the same file are not coordinated.
 */
export class FileRegistry implements ServiceRegistry {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  register(name: string, entry: RegistryEntry): Promise<void> {
    return this.update((content) => {
      content[name] = entry;
      return true;
    });
  }

  deregister(name: string): Promise<void> {
    return this.update((content) => Object.hasOwn(content, name) && delete content[name]);
  }

  async read(): Promise<RegistryContent> {
    return (await readJson<RegistryContent>(this.file)) ?? {};
  }

  private update(change: (content: RegistryContent) => boolean): Promise<void> {
    const run = this.queue.then(async () => {
      const content = await this.read();
      if (change(content)) await writeJsonAtomic(this.file, content);
    });
    // A failed change must not block the ones queued after it.
    this.queue = run.catch(() => undefined);
    return run;
  }
}
