import { constants, createWriteStream } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { withFileLock } from './lock.js';

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

const BUILD_PROGRESS_INTERVAL_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;
const STAGING_PREFIX = '.staging-';

export interface ResolveTemporalCliOptions {
  log?: (line: string) => void;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** When false, only look for an existing binary: never build or download one. Defaults to true. */
  install?: boolean;
}

export class TemporalCliNotFoundError extends Error {
  constructor(reasons: string[]) {
    super(
      [
        'No Temporal CLI (`temporal`) found.',
        ...reasons.map((reason) => `  - ${reason}`),
        'Install one with `go install ' + TEMPORAL_CLI_MODULE + '` (Go >= 1.25) and put it on PATH,',
        'or set TEMPORAL_CLI_PATH to a `temporal` binary,',
        'or set TEMPORAL_ADDRESS to an existing Temporal server.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/stackflow/temporal-<version>`: where a built or downloaded CLI is kept. */
export function temporalCliCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache');
  return path.join(cacheHome, 'stackflow', `temporal-${TEMPORAL_CLI_VERSION}`);
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/**
 * Finds a `temporal` binary: `TEMPORAL_CLI_PATH`, then `temporal` on PATH, then the stackflow cache;
 * failing that, builds it with `go install` (when Go is on PATH) or downloads the release archive.
 */
export async function resolveTemporalCli(opts: ResolveTemporalCliOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (await isExecutableFile(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH is set to ${explicit}, which is not an executable file.`);
  }

  const onPath = await findOnPath('temporal', env);
  if (onPath !== null) return onPath;

  const cacheDir = temporalCliCacheDir(env);
  const cached = path.join(cacheDir, 'temporal');
  if (await isExecutableFile(cached)) return cached;

  const reasons = ['TEMPORAL_CLI_PATH is not set', 'no `temporal` on PATH', `no cached build at ${cached}`];
  if (opts.install === false) throw new TemporalCliNotFoundError([...reasons, 'automatic install disabled']);

  await mkdir(cacheDir, { recursive: true });
  return withFileLock(
    path.join(cacheDir, '.install.lock'),
    async () => {
      // Another process may have finished installing while we waited for the lock.
      if (await isExecutableFile(cached)) return cached;
      await removeStaleStaging(cacheDir);
      const go = await findOnPath('go', env);
      if (go !== null) {
        await installInto(cacheDir, (staging) => goInstall(go, staging, env, log));
        return cached;
      }
      try {
        await installInto(cacheDir, (staging) => download(staging, log));
        return cached;
      } catch (err) {
        throw new TemporalCliNotFoundError([
          ...reasons,
          'no `go` on PATH to build it',
          `downloading the release failed: ${(err as Error).message}`,
        ]);
      }
    },
    (ownerPid) => log(`Waiting for process ${ownerPid}, which is installing the Temporal CLI…`),
  );
}

/** Leftovers of a killed build or download; safe to delete while we hold the install lock. */
async function removeStaleStaging(cacheDir: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(path.join(cacheDir, entry), { recursive: true, force: true });
  }
}

/** Produces the binary in a staging dir and renames it into place, so a killed install never leaves half a binary. */
async function installInto(cacheDir: string, produce: (staging: string) => Promise<void>): Promise<void> {
  const staging = await mkdtemp(path.join(cacheDir, STAGING_PREFIX));
  try {
    await produce(staging);
    const built = path.join(staging, 'temporal');
    if (!(await isExecutableFile(built))) throw new Error(`no executable \`temporal\` was produced in ${staging}`);
    await rename(built, path.join(cacheDir, 'temporal'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function goInstall(go: string, gobin: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} with \`go install ${TEMPORAL_CLI_MODULE}\`.`);
  log('This takes a few minutes the first time; the result is cached.');
  const started = Date.now();
  const progress = setInterval(() => {
    log(`Still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)…`);
  }, BUILD_PROGRESS_INTERVAL_MS);
  try {
    const { execa } = await import('execa');
    const result = await execa(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...env, GOBIN: gobin },
      extendEnv: false,
      all: true,
      reject: false,
    });
    if (result.exitCode !== 0) {
      const tail = String(result.all ?? '').trim().split('\n').slice(-15).join('\n');
      throw new Error(`\`go install ${TEMPORAL_CLI_MODULE}\` failed (exit ${result.exitCode}):\n${tail}`);
    }
  } finally {
    clearInterval(progress);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s.`);
}

function releasePlatform(): { platform: string; arch: string } {
  const platforms: Partial<Record<NodeJS.Platform, string>> = { linux: 'linux', darwin: 'darwin' };
  const arches: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };
  const platform = platforms[process.platform];
  const arch = arches[process.arch];
  if (platform === undefined || arch === undefined) {
    throw new Error(`no release archive for ${process.platform}/${process.arch}`);
  }
  return { platform, arch };
}

async function download(staging: string, log: (line: string) => void): Promise<void> {
  const { platform, arch } = releasePlatform();
  const url = `https://temporal.download/cli/archive/v${TEMPORAL_CLI_VERSION}?platform=${platform}&arch=${arch}`;
  log(`Downloading the Temporal CLI v${TEMPORAL_CLI_VERSION} from ${url}`);
  const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (!response.ok || response.body === null) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const archive = path.join(staging, 'temporal.tar.gz');
  await pipeline(Readable.fromWeb(response.body as ReadableStream), createWriteStream(archive));
  // Loaded here: every command imports this module, few ever install the CLI (execa is ~100 files).
  const { execa } = await import('execa');
  await execa('tar', ['-xzf', archive, '-C', staging]);
  await chmod(path.join(staging, 'temporal'), 0o755);
}
