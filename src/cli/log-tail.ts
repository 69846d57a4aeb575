// Reading and following the services' log files with `name |` prefixes.
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { prefixer } from './output.js';

const FOLLOW_POLL_MS = 100;

export function logFile(stackDir: string, service: string): string {
  return join(stackDir, 'logs', `${service}.log`);
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function readFrom(file: string, offset: number): Promise<{ text: string; end: number }> {
  const size = await fileSize(file);
  // A rotated or truncated file starts again from its beginning.
  const from = size < offset ? 0 : offset;
  if (size === from) return { text: '', end: from };
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - from);
    await handle.read(buffer, 0, buffer.length, from);
    return { text: buffer.toString('utf8'), end: size };
  } finally {
    await handle.close();
  }
}

/** The last `lines` lines of each file, prefixed; then, with `follow`, new lines until `signal` aborts. */
export async function printLogs(
  stackDir: string,
  services: string[],
  options: { lines: number | null; follow: boolean; signal?: AbortSignal; fromOffsets?: Map<string, number> },
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Promise<void> {
  const prefix = prefixer(services);
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  for (const service of services) {
    const file = logFile(stackDir, service);
    const start = options.fromOffsets?.get(service);
    const { text, end } = await readFrom(file, start ?? 0);
    const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    const shown = options.lines === null ? lines : lines.slice(-options.lines);
    for (const line of shown) write(`${prefix(service)} ${line}`);
    offsets.set(service, end);
  }
  while (options.follow && !options.signal?.aborted) {
    await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
    for (const service of services) {
      const { text, end } = await readFrom(logFile(stackDir, service), offsets.get(service)!);
      offsets.set(service, end);
      if (!text) continue;
      const lines = ((partial.get(service) ?? '') + text).split('\n');
      partial.set(service, lines.pop()!);
      for (const line of lines) write(`${prefix(service)} ${line}`);
    }
  }
}
