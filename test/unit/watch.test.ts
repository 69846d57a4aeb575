// File watching: which changes count, how bursts become one restart, the `watch:` field, and the
// real watcher on a temporary folder.
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatProblem, parseStack, StackFileError } from '../../src/config/index.js';
import { ChangeBatcher, describeChanges, ignoreMatcher, type Timers } from '../../src/watch/changes.js';
import { watchFiles } from '../../src/watch/watcher.js';

/** Timers that run only when the test moves the clock. */
function manualClock() {
  let now = 0;
  let next = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      pending.set(++next, { at: now + ms, callback });
      return next;
    },
    clearTimeout: (handle) => pending.delete(handle as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, timer] of [...pending].sort(([, a], [, b]) => a.at - b.at)) {
      if (timer.at > now) continue;
      pending.delete(id);
      timer.callback();
    }
  };
  return { timers, advance };
}

describe('ignoreMatcher', () => {
  const ignored = ignoreMatcher(['**/__pycache__/**', '*.pyc', 'build/*']);
  it.each([
    ['__pycache__', true],
    ['__pycache__/main.cpython-311.pyc', true],
    ['sub/__pycache__/notes.txt', true],
    ['sub/deeper/module.pyc', true],
    ['build/out.js', true],
    ['build/nested/out.js', true],
    ['main.py', false],
    ['sub/build/out.js', false],
    ['pyc.txt', false],
  ])('%s -> ignored: %s', (path, expected) => {
    expect(ignored(path)).toBe(expected);
  });

  it('ignores nothing without patterns, dot files included', () => {
    expect(ignoreMatcher([])('.env')).toBe(false);
    expect(ignoreMatcher(['.*'])('sub/.env')).toBe(true);
  });
});

describe('describeChanges', () => {
  it('names up to three files', () => {
    expect(describeChanges(['apps/data/main.py'])).toBe('1 file changed (apps/data/main.py)');
    expect(describeChanges(['a.py', 'b.py'])).toBe('2 files changed (a.py, b.py)');
    expect(describeChanges(['a.py', 'b.py', 'c.py', 'd.py'])).toBe('4 files changed (a.py, b.py, c.py, …)');
  });
});

describe('ChangeBatcher', () => {
  function batcher(debounceMs = 300) {
    const clock = manualClock();
    const flushed: string[][] = [];
    return { batcher: new ChangeBatcher(debounceMs, (files) => flushed.push(files), clock.timers), flushed, advance: clock.advance };
  }

  it('flushes a burst once, debounce after its last change, with each file once in the order first seen', () => {
    const { batcher: b, flushed, advance } = batcher();
    b.add(['main.py']);
    advance(200);
    b.add(['db.py', 'main.py']);
    advance(299);
    expect(flushed).toEqual([]);
    advance(1);
    expect(flushed).toEqual([['main.py', 'db.py']]);
    advance(1000);
    expect(flushed).toHaveLength(1);
  });

  it('flushes separate bursts separately', () => {
    const { batcher: b, flushed, advance } = batcher(100);
    b.add(['a.py']);
    advance(100);
    b.add(['b.py']);
    advance(100);
    expect(flushed).toEqual([['a.py'], ['b.py']]);
  });

  it('does not restart the quiet period for an empty batch of events', () => {
    const { batcher: b, flushed, advance } = batcher(100);
    b.add(['a.py']);
    advance(90);
    b.add([]);
    advance(10);
    expect(flushed).toEqual([['a.py']]);
  });

  it('drops a pending burst and ignores later changes once closed', () => {
    const { batcher: b, flushed, advance } = batcher(100);
    b.add(['a.py']);
    b.close();
    b.add(['b.py']);
    advance(1000);
    expect(flushed).toEqual([]);
  });
});

describe('the watch field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackflow-watch-config-'));
  const parse = (stack: object) => parseStack(JSON.stringify({ name: 'w', ...stack }), { file: join(dir, 'stack.yaml'), env: {} });
  const problemsOf = (stack: object) => {
    try {
      parse(stack);
    } catch (error) {
      if (error instanceof StackFileError) return error.problems.map(formatProblem);
      throw error;
    }
    throw new Error('expected the stack file to be rejected');
  };

  it('resolves paths against the stack file folder, with no ignore and a 300 ms debounce by default', () => {
    const spec = parse({ services: { data: { command: 'data', watch: { paths: 'apps/data' } } } }).spec;
    expect(spec.services.data!.watch).toEqual({ paths: [join(dir, 'apps/data')], ignore: [], debounceMs: 300 });
    expect(parse({ services: { data: { command: 'data' } } }).spec.services.data!.watch).toBeUndefined();
  });

  it('takes ignore and debounce from defaults, paths from the service', () => {
    const spec = parse({
      defaults: { watch: { ignore: ['*.pyc'], debounce: '1s' } },
      services: { data: { command: 'data', watch: { paths: ['apps/data', 'apps/common.py'] } } },
    }).spec;
    expect(spec.services.data!.watch).toEqual({
      paths: [join(dir, 'apps/data'), join(dir, 'apps/common.py')],
      ignore: ['*.pyc'],
      debounceMs: 1000,
    });
  });

  it('reports missing paths, a bad debounce and an unknown key', () => {
    expect(problemsOf({ services: { data: { command: 'data', watch: { ignore: ['*.pyc'] } } } })).toEqual([
      'services.data.watch.paths: missing (list the files or folders to watch, e.g. paths: [apps/data])',
    ]);
    const problems = problemsOf({ services: { data: { command: 'data', watch: { paths: ['a'], debounce: 'soon', path: 'b' } } } });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^services\.data\.watch\.debounce: /);
    expect(problems[1]).toBe('services.data.watch.path: unknown key "path" (did you mean "paths"?)');
  });
});

describe('watchFiles', () => {
  it('reports changed files relative to the base, leaving out ignored ones and files beside a watched file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'stackflow-watch-'));
    mkdirSync(join(base, 'apps/data/__pycache__'), { recursive: true });
    writeFileSync(join(base, 'apps/common.py'), '# shared\n');
    writeFileSync(join(base, 'apps/other.py'), '# not watched\n');
    // Batches may split on a slow machine: collect them until both edited files were reported.
    const reported: string[] = [];
    let bothSeen: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (bothSeen = resolve));
    const watch = await watchFiles(
      { paths: [join(base, 'apps/data'), join(base, 'apps/common.py')], ignore: ['**/__pycache__/**', '*.pyc'], debounceMs: 50 },
      {
        base,
        onChanges: (files) => {
          reported.push(...files);
          if (reported.includes('apps/data/main.py') && reported.includes('apps/common.py')) bothSeen();
        },
        onError: (error) => reported.push(`error: ${error.message}`),
      },
    );
    try {
      // The ignored and unwatched writes come first, so any report of them precedes the wanted ones.
      // A subscription may still be settling when watchFiles resolves on a loaded machine: the round
      // of writes is repeated until both wanted files were reported (each round writes all five).
      let done = false;
      void seen.then(() => (done = true));
      for (let round = 0; !done && round < 100; round++) {
        writeFileSync(join(base, 'apps/data/__pycache__/main.cpython-311.pyc'), `bytecode ${round}`);
        writeFileSync(join(base, 'apps/data/old.pyc'), `bytecode ${round}`);
        writeFileSync(join(base, 'apps/other.py'), `# still not watched ${round}\n`);
        writeFileSync(join(base, 'apps/data/main.py'), `print("v${round}")\n`);
        writeFileSync(join(base, 'apps/common.py'), `# shared v${round}\n`);
        await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 250))]);
      }
      await seen;
      expect([...new Set(reported)].sort()).toEqual(['apps/common.py', 'apps/data/main.py']);
    } finally {
      await watch.close();
    }
  });

  it('reports at once what was modified after changedAfterMs, before the watch began', async () => {
    const base = mkdtempSync(join(tmpdir(), 'stackflow-watch-'));
    const since = Date.now();
    const at = (file: string, offsetMs: number) => {
      mkdirSync(dirname(join(base, file)), { recursive: true });
      writeFileSync(join(base, file), file);
      utimesSync(join(base, file), (since + offsetMs) / 1000, (since + offsetMs) / 1000);
    };
    at('apps/data/seen.py', -10_000);
    at('apps/data/sub/saved.py', 10_000);
    at('apps/data/__pycache__/saved.cpython-311.pyc', 10_000);
    at('apps/common.py', 10_000);
    at('apps/other.py', 10_000);
    let reported: (files: string[]) => void = () => undefined;
    const batch = new Promise<string[]>((resolve) => (reported = resolve));
    const watch = await watchFiles(
      { paths: [join(base, 'apps/data'), join(base, 'apps/common.py')], ignore: ['__pycache__'], debounceMs: 10 },
      { base, onChanges: (files) => reported(files), onError: () => undefined, changedAfterMs: since },
    );
    try {
      expect((await batch).sort()).toEqual(['apps/common.py', 'apps/data/sub/saved.py']);
    } finally {
      await watch.close();
    }
  });

  it('rejects a path that does not exist, naming it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'stackflow-watch-'));
    await expect(
      watchFiles({ paths: [base, join(base, 'gone')], ignore: [], debounceMs: 50 }, { base, onChanges: () => undefined, onError: () => undefined }),
    ).rejects.toThrow(`watch path ${join(base, 'gone')} does not exist`);
  });
});
