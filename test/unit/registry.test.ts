import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileRegistry, type RegistryEntry } from '../../src/registry/registry.js';
import { tempDir } from '../fixtures/proc/helpers.js';

let dir: { path: string; remove: () => Promise<void> };
let file: string;

beforeEach(async () => {
  dir = await tempDir();
  file = join(dir.path, 'stack', 'registry.json');
});

afterEach(() => dir.remove());

const entry = (port: number): RegistryEntry => ({
  url: `http://127.0.0.1:${port}`,
  host: 'local',
  port,
  pid: 1000 + port,
  healthyAt: '2026-11-26T14:00:00.000Z',
});

describe('FileRegistry', () => {
  it('reads a missing file as empty', async () => {
    expect(await new FileRegistry(file).read()).toEqual({});
  });

  it('registers and deregisters, writing the SPEC §7 shape', async () => {
    const registry = new FileRegistry(file);
    await registry.register('data', entry(8001));
    await registry.register('worker', { url: null, host: 'local', port: null, pid: 42, healthyAt: '2026-11-26T14:00:01.000Z' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      data: entry(8001),
      worker: { url: null, host: 'local', port: null, pid: 42, healthyAt: '2026-11-26T14:00:01.000Z' },
    });

    await registry.deregister('data');
    await registry.deregister('never-registered');
    expect(await new FileRegistry(file).read()).toEqual({ worker: expect.objectContaining({ pid: 42 }) });
    expect(await readdir(join(dir.path, 'stack'))).toEqual(['registry.json']);
  });

  it('keeps every one of many concurrent changes', async () => {
    const registry = new FileRegistry(file);
    const names = Array.from({ length: 60 }, (_, i) => `svc-${i}`);
    await Promise.all(names.map((name, i) => registry.register(name, entry(9000 + i))));
    expect(Object.keys(await registry.read()).sort()).toEqual([...names].sort());

    await Promise.all(names.filter((_, i) => i % 2 === 0).map((name) => registry.deregister(name)));
    expect(Object.keys(await registry.read()).sort()).toEqual(names.filter((_, i) => i % 2 === 1).sort());
    expect(await readdir(join(dir.path, 'stack'))).toEqual(['registry.json']);
  });

  it('never shows a reader a partly written file', async () => {
    const registry = new FileRegistry(file);
    await registry.register('seed', entry(1));
    let writing = true;
    const writes = Promise.all(Array.from({ length: 100 }, (_, i) => registry.register(`svc-${i}`, entry(i)))).finally(() => {
      writing = false;
    });
    let reads = 0;
    while (writing) {
      // Straight from disk, bypassing the registry's queue: each read must parse.
      const content = JSON.parse(await readFile(file, 'utf8')) as Record<string, RegistryEntry>;
      expect(content['seed']).toEqual(entry(1));
      reads++;
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect(Object.keys(await registry.read())).toHaveLength(101);
  });

  it('keeps going after a failed change', async () => {
    const registry = new FileRegistry(file);
    await registry.register('a', entry(1));
    await writeFile(file, '{ not json');
    await expect(registry.register('b', entry(2))).rejects.toThrow(`${file}: invalid JSON`);
    await writeFile(file, '{}');
    await registry.register('c', entry(3));
    expect(await registry.read()).toEqual({ c: entry(3) });
  });
});
