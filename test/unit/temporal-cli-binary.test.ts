import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import {
  resolveTemporalCli,
  TEMPORAL_CLI_MODULE,
  temporalCliCacheDir,
  TemporalCliNotFoundError,
} from '../../src/temporal/cli-binary.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stackflow-cli-binary-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function script(file: string, body: string, mode = 0o755): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, mode);
  return file;
}

const fakeTemporal = (file: string, mode?: number) => script(file, 'echo fake temporal', mode);

describe('resolveTemporalCli lookup order', () => {
  test('TEMPORAL_CLI_PATH wins over PATH and the cache', async () => {
    const explicit = await fakeTemporal(path.join(root, 'explicit', 'my-temporal'));
    await fakeTemporal(path.join(root, 'bin', 'temporal'));
    const env = { TEMPORAL_CLI_PATH: explicit, PATH: path.join(root, 'bin'), XDG_CACHE_HOME: path.join(root, 'cache') };
    await fakeTemporal(path.join(temporalCliCacheDir(env), 'temporal'));
    await expect(resolveTemporalCli({ env, install: false })).resolves.toBe(explicit);
  });

  test('a TEMPORAL_CLI_PATH that does not exist is an error naming the variable, not a fallback', async () => {
    await fakeTemporal(path.join(root, 'bin', 'temporal'));
    const missing = path.join(root, 'nope', 'temporal');
    const env = { TEMPORAL_CLI_PATH: missing, PATH: path.join(root, 'bin') };
    await expect(resolveTemporalCli({ env })).rejects.toThrow(`TEMPORAL_CLI_PATH is set to ${missing}`);
  });

  test('a TEMPORAL_CLI_PATH that is not executable is an error', async () => {
    const notExecutable = await fakeTemporal(path.join(root, 'temporal'), 0o644);
    await expect(resolveTemporalCli({ env: { TEMPORAL_CLI_PATH: notExecutable } })).rejects.toThrow(
      'not an executable file',
    );
  });

  test('PATH wins over the cache, skipping directories without an executable temporal', async () => {
    await fakeTemporal(path.join(root, 'a', 'temporal'), 0o644);
    const onPath = await fakeTemporal(path.join(root, 'b', 'temporal'));
    const env = { PATH: ['', path.join(root, 'a'), path.join(root, 'b')].join(path.delimiter), XDG_CACHE_HOME: path.join(root, 'cache') };
    await fakeTemporal(path.join(temporalCliCacheDir(env), 'temporal'));
    await expect(resolveTemporalCli({ env, install: false })).resolves.toBe(onPath);
  });

  test('falls back to the cache under XDG_CACHE_HOME', async () => {
    const env = { PATH: path.join(root, 'empty'), XDG_CACHE_HOME: path.join(root, 'xdg') };
    const cached = await fakeTemporal(path.join(root, 'xdg', 'stackflow', 'temporal-1.5.1', 'temporal'));
    await expect(resolveTemporalCli({ env, install: false })).resolves.toBe(cached);
  });

  test('the cache defaults to $HOME/.cache', async () => {
    const env = { PATH: path.join(root, 'empty'), HOME: path.join(root, 'home') };
    const cached = await fakeTemporal(path.join(root, 'home', '.cache', 'stackflow', 'temporal-1.5.1', 'temporal'));
    expect(temporalCliCacheDir(env)).toBe(path.dirname(cached));
    await expect(resolveTemporalCli({ env, install: false })).resolves.toBe(cached);
  });

  test('without any binary and with install disabled, the error says how to get one', async () => {
    const env = { PATH: path.join(root, 'empty'), XDG_CACHE_HOME: path.join(root, 'cache') };
    const attempt = resolveTemporalCli({ env, install: false });
    await expect(attempt).rejects.toBeInstanceOf(TemporalCliNotFoundError);
    await expect(attempt).rejects.toThrow(`go install ${TEMPORAL_CLI_MODULE}`);
    await expect(attempt).rejects.toThrow('TEMPORAL_CLI_PATH');
    await expect(attempt).rejects.toThrow('TEMPORAL_ADDRESS');
    await expect(attempt).rejects.toThrow(path.join(temporalCliCacheDir(env), 'temporal'));
  });
});

describe('resolveTemporalCli install with go (a fake `go` script, no real build)', () => {
  /** A `go` that records each call and writes a fake binary into $GOBIN after a short delay. */
  async function fakeGo(body = 'sleep 0.3; printf "#!/bin/sh\\necho built\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"') {
    const bin = path.join(root, 'gobin');
    // The callers' PATH holds only this fake `go`; the script itself needs the system tools.
    await script(path.join(bin, 'go'), `PATH=/usr/bin:/bin\necho "$@" >> "${path.join(root, 'go-calls')}"\n${body}`);
    return { PATH: bin, XDG_CACHE_HOME: path.join(root, 'cache') };
  }

  test('builds once into the cache for concurrent callers, via a staging dir', async () => {
    const env = await fakeGo();
    const lines: string[] = [];
    const results = await Promise.all([
      resolveTemporalCli({ env, log: (line) => lines.push(line) }),
      resolveTemporalCli({ env, log: (line) => lines.push(line) }),
    ]);
    const cached = path.join(temporalCliCacheDir(env), 'temporal');
    expect(results).toEqual([cached, cached]);
    expect((await readFile(path.join(root, 'go-calls'), 'utf8')).trim().split('\n')).toEqual([
      `install ${TEMPORAL_CLI_MODULE}`,
    ]);
    expect(lines.some((line) => line.includes('few minutes'))).toBe(true);
    expect(await readdir(temporalCliCacheDir(env))).toEqual(['temporal']);
  });

  test('a failed build reports go output and leaves no binary behind', async () => {
    const env = await fakeGo('echo "go: module lookup disabled" >&2; exit 1');
    await expect(resolveTemporalCli({ env })).rejects.toThrow(/failed \(exit 1\):\ngo: module lookup disabled/);
    expect(await readdir(temporalCliCacheDir(env))).toEqual([]);
  });
});

describe('resolveTemporalCli download (fetch stubbed, no network)', () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  const env = () => ({ PATH: path.join(root, 'empty'), XDG_CACHE_HOME: path.join(root, 'cache') });

  test('without go, downloads the release archive for this platform and extracts it into the cache', async () => {
    await fakeTemporal(path.join(root, 'release', 'temporal'));
    await writeFile(path.join(root, 'release', 'LICENSE'), 'MIT');
    const archive = path.join(root, 'release.tar.gz');
    await execa('tar', ['-czf', archive, '-C', path.join(root, 'release'), 'temporal', 'LICENSE']);
    const urls: string[] = [];
    globalThis.fetch = (async (url: string | URL) => {
      urls.push(String(url));
      return new Response(await readFile(archive));
    }) as typeof fetch;

    const cached = path.join(temporalCliCacheDir(env()), 'temporal');
    await expect(resolveTemporalCli({ env: env() })).resolves.toBe(cached);
    expect(urls).toEqual([expect.stringMatching(/^https:\/\/temporal\.download\/cli\/archive\/v1\.5\.1\?platform=(linux|darwin)&arch=(amd64|arm64)$/)]);
    expect((await execa(cached)).stdout).toBe('fake temporal');
    expect(await readdir(temporalCliCacheDir(env()))).toEqual(['temporal']);
  });

  test('a failed download ends in the how-to-install error', async () => {
    globalThis.fetch = (async () => new Response('gone', { status: 404 })) as typeof fetch;
    const attempt = resolveTemporalCli({ env: env() });
    await expect(attempt).rejects.toBeInstanceOf(TemporalCliNotFoundError);
    await expect(attempt).rejects.toThrow('no `go` on PATH to build it');
    await expect(attempt).rejects.toThrow(/downloading the release failed: GET .* HTTP 404/);
    expect(await readdir(temporalCliCacheDir(env()))).toEqual([]);
  });
});
