// What the values of a stack file mean: YAML typing never changes them, names are data, messages
// escape control characters, files are read safely, and which env values may be shown (publicEnv).
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { formatProblem, loadStack, parseStack, StackFileError } from '../../src/config/index.js';
import type { LoadedStack } from '../../src/config/index.js';
import { escapeControl } from '../../src/config/problems.js';
import { TEMPORAL_PAYLOAD_LIMIT_BYTES } from '../../src/config/payload.js';
import { stackProblems } from '../support/stack-problems.js';

const dir = mkdtempSync(join(tmpdir(), 'stackflow-values-'));
const file = join(dir, 'stack.yaml');
type Env = Record<string, string | undefined>;

function load(text: string, env: Env = {}): LoadedStack {
  return parseStack(text, { file, env });
}


async function loadProblems(path: string): Promise<string[]> {
  return loadStack(path, { env: {} }).then(
    () => {
      throw new Error('expected the stack file to be rejected');
    },
    (error: unknown) => {
      if (error instanceof StackFileError) return error.problems.map(formatProblem);
      throw error;
    },
  );
}

function writeFile(relative: string, content: string | Buffer): string {
  const path = resolve(dir, relative);
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('YAML typing never changes what the user wrote', () => {
  it('passes env values as their source text (the issue example)', () => {
    const { env } = load('services:\n  api:\n    command: x\n    env: { FEED_RELEASE: 24.10, ADMIN_PIN: 0123, ZIP_CODE: 01970, RATIO: 1e3 }\n').spec
      .services.api!;
    expect(env).toMatchObject({ FEED_RELEASE: '24.10', ADMIN_PIN: '0123', ZIP_CODE: '01970', RATIO: '1e3' });
  });

  it.each(['true', 'True', 'FALSE', '0x1F', '0o17', '.inf', '-.Inf', '.NaN', '-0', '+12', '12.0', '1.', '007', '1e-3'])(
    'keeps %s as written wherever a string is expected',
    (scalar) => {
      const api = load(`env: { STACK: ${scalar} }\nservices:\n  api:\n    command: [echo, ${scalar}]\n    env: { V: ${scalar} }\n`).spec.services.api!;
      expect(api.command).toEqual(['echo', scalar]);
      expect(api.env.V).toBe(scalar);
      expect(api.env.STACK).toBe(scalar);
    },
  );

  it('keeps keys as written: a service named 0123 and a variable named 007', () => {
    const { spec } = load('services:\n  0123:\n    command: x\n    env: { 007: bond }\n  api:\n    command: x\n    depends_on: [0123]\n');
    expect(Object.keys(spec.services)).toEqual(['0123', 'api']);
    expect(spec.services['0123']!.env['007']).toBe('bond');
    expect(Object.keys(spec.services.api!.dependsOn)).toEqual(['0123']);
  });

  it('still reads numbers, flags and durations from their text', () => {
    const api = load('services:\n  api:\n    command: x\n    port: 8001\n    shell: True\n    replicas: 2\n    health: { interval: 1500, timeout: 2s }\n    restart: { backoff: { factor: 1.5e0 } }\n')
      .spec.services['api#0']!;
    expect(api.port).toBe(8001);
    expect(api.shell).toBe(true);
    expect(api.health.intervalMs).toBe(1500);
    expect(api.restart.backoff.factor).toBe(1.5);
  });

  it('keeps YAML 1.1 scalars as written too: yes, sexagesimal numbers, dates', () => {
    const api = load('%YAML 1.1\n---\nservices:\n  api:\n    command: x\n    env: { A: yes, B: 1:20, C: 2001-12-14, D: off }\n').spec.services.api!;
    expect(api.env).toMatchObject({ A: 'yes', B: '1:20', C: '2001-12-14', D: 'off' });
  });

  it('merges `<<: *anchor` keys as compose files do, values as written', () => {
    const text = 'defaults: &base { env: { V: 1.10 } }\nservices:\n  api:\n    <<: *base\n    command: x\n';
    expect(load(text).spec.services.api!.env.V).toBe('1.10');
  });

  it('keeps JSON numbers as written too', () => {
    expect(load('{"services": {"api": {"command": "x", "env": {"A": 1.50, "B": 1e2}}}}').spec.services.api!.env).toMatchObject({ A: '1.50', B: '1e2' });
  });

  it('reports an empty env value with the fix', () => {
    expect(stackProblems(() => load('services:\n  api:\n    command: x\n    env: { A: }\n'))).toEqual([
      'services.api.env.A: expected a string, got an empty value (write "" for an empty value, or "${A}" for the caller\'s A)',
    ]);
  });
});

/** Names JavaScript objects already answer to: the names a plain-object map gets wrong. */
const BUILT_IN_NAMES = Object.getOwnPropertyNames(Object.prototype);
const SERVICE_NAME_CHARS = 'abcXYZ019_.-'.split('');

describe('names are data', () => {
  const serviceName = fc.oneof(
    fc.constantFrom(...BUILT_IN_NAMES.filter((name) => /^[A-Za-z0-9]/.test(name)), 'prototype', 'length', 'name', 'then'),
    fc
      .tuple(fc.constantFrom(...'aZ9'.split('')), fc.array(fc.constantFrom(...SERVICE_NAME_CHARS), { maxLength: 8 }))
      .map(([first, rest]) => first + rest.join('')),
  );
  const envName = fc.oneof(fc.constantFrom(...BUILT_IN_NAMES), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/));

  it('a stack whose services and variables have any allowed name, built-in property names included, resolves each as written', () => {
    fc.assert(
      fc.property(fc.uniqueArray(serviceName, { minLength: 1, maxLength: 6 }), fc.uniqueArray(envName, { maxLength: 6 }), (names, envNames) => {
        // each service depends on the one before it; each has every env name, valued with its own name
        const services = Object.fromEntries(
          names.map((name, index) => [
            name,
            {
              command: 'x',
              ...(index > 0 ? { depends_on: [names[index - 1]] } : {}),
              env: Object.fromEntries(envNames.map((envName) => [envName, `${name}:${envName}`])),
            },
          ]),
        );
        const { spec, levels } = load(JSON.stringify({ services }));
        expect(Object.getPrototypeOf(spec.services)).toBeNull();
        // (integer-like names such as "9" come first in any JS object's key order: order is not a name's meaning)
        expect(Object.keys(spec.services).sort()).toEqual([...names].sort());
        expect(levels).toEqual(names.map((name) => [name]));
        names.forEach((name, index) => {
          const service = spec.services[name]!;
          expect(service.name).toBe(name);
          expect(Object.keys(service.dependsOn)).toEqual(index > 0 ? [names[index - 1]] : []);
          for (const envName of envNames) expect(Object.hasOwn(service.env, envName) && service.env[envName]).toBe(`${name}:${envName}`);
          expect(Object.getPrototypeOf(service.env)).toBeNull();
        });
      }),
      { numRuns: 150 },
    );
  });

  it('keeps __proto__ as a variable (JSON.parse and YAML both make it an own key)', () => {
    const api = load('services:\n  api:\n    command: x\n    env: { __proto__: p, constructor: c }\n').spec.services.api!;
    expect(Object.entries(api.env).filter(([key]) => !key.startsWith('STACKFLOW_'))).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });

  it('reports a dependency on a name that is not a service name instead of dropping it', () => {
    expect(stackProblems(() => load('services:\n  api:\n    command: x\n    depends_on: { __proto__: healthy }\n'))).toEqual([
      'services.api.depends_on.__proto__: invalid service name (use letters, digits, ".", "_" and "-", starting with a letter or digit)',
    ]);
  });

  it('reports __proto__ as an unknown key wherever the keys are fixed', () => {
    expect(stackProblems(() => load('__proto__: 1\nservices: { api: { command: x, __proto__: 1 } }'))).toEqual([
      '__proto__: unknown key "__proto__"',
      'services.api.__proto__: unknown key "__proto__"',
    ]);
    expect(stackProblems(() => load('services: { api: { command: x, health: { __proto__: {} } } }'))).toEqual([
      'services.api.health.__proto__: unknown key "__proto__"',
    ]);
  });

  it('finds no unknown dependency behind a built-in property name', () => {
    expect(stackProblems(() => load('services:\n  api:\n    command: x\n    depends_on: [constructor]\n'))).toEqual([
      'services.api.depends_on.constructor: unknown service "constructor"',
    ]);
  });
});

describe('control characters are printed escaped in every message', () => {
  it('escapes newlines, bidi overrides and other controls, and leaves backslashes alone', () => {
    expect(escapeControl('a\nb\tc\u202ed\u0000e\u009bf\\g')).toBe('a\\nb\\tc\\u202ed\\u0000e\\u009bf\\g');
  });

  it('in problems about names and values', () => {
    const problems = stackProblems(() => load(JSON.stringify({ services: { 'evil\nname': { command: 'x' }, api: { command: 'x', env: { 'A\u202eB': [] } } } })));
    expect(problems).toEqual([
      'services.evil\\nname: invalid service name "evil\\nname" (use letters, digits, ".", "_" and "-", starting with a letter or digit)',
      'services.api.env.A\\u202eB: expected a string, got a list',
    ]);
    for (const line of problems) expect(line).not.toMatch(/[\n\u202e]/);
  });

  it('in interpolation and env file problems', () => {
    writeFile('ctl.env', 'A="x" \u202etrailing\n');
    const problems = stackProblems(() => load(JSON.stringify({ services: { api: { command: '${UNSET\u0007}', env_file: 'ctl.env' } } })));
    expect(problems.join('\n')).not.toMatch(/[\u0007\u202e]/);
    expect(problems).toEqual([
      'services.api.command: unsupported interpolation "${UNSET\\u0007}" (the supported forms are ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $$ for a literal $)',
      'services.api.env_file: env file "ctl.env" line 1: unexpected "\\u202etrailing" after the closing quote (put it inside the quotes, or start a comment with " #")',
    ]);
  });
});

describe('files are read safely', () => {
  it('refuses a FIFO as the stack file without waiting for a writer', async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(await loadProblems(fifo)).toEqual([`${fifo}: stack file is a FIFO, not a regular file (give the path of a file)`]);
  });

  it('refuses /dev/zero as an env file and a directory as the stack file', async () => {
    expect(stackProblems(() => load('services: { api: { command: x, env_file: /dev/zero } }'))).toEqual([
      'services.api.env_file: env file "/dev/zero" is a device, not a regular file (give the path of a file)',
    ]);
    expect(await loadProblems(dir)).toEqual([`${dir}: stack file is a directory, not a regular file (give the path of a file)`]);
  });

  it('caps the size of a stack file and of an env file', async () => {
    const big = writeFile('big/stack.yaml', `services: { api: { command: x } }\n${'#'.repeat(10 * 1024 * 1024)}\n`);
    expect(await loadProblems(big)).toEqual([`${big}: stack file is 10.0 MiB, more than the 1.0 MiB allowed (is it the right file?)`]);
    writeFile('big.env', `A=${'x'.repeat(1024 * 1024)}`);
    expect(stackProblems(() => load('services: { api: { command: x, env_file: big.env } }'))).toEqual([
      'services.api.env_file: env file "big.env" is 1.0 MiB, more than the 1.0 MiB allowed (is it the right file?)',
    ]);
  });

  it('names the line of invalid UTF-8', async () => {
    const bad = writeFile('latin1/stack.yaml', Buffer.concat([Buffer.from('services:\n  api:\n    command: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(await loadProblems(bad)).toEqual([`${bad}: stack file is not valid UTF-8: line 3 has byte 0xe9 (save it as UTF-8)`]);
    writeFile('latin1.env', Buffer.concat([Buffer.from('A=1\r\nB=\xc3\xa9\r\nC='), Buffer.from([0xff, 0xfe])]));
    expect(stackProblems(() => load('services: { api: { command: x, env_file: latin1.env } }'))).toEqual([
      'services.api.env_file: env file "latin1.env" is not valid UTF-8: line 3 has byte 0xff (save it as UTF-8)',
    ]);
  });

  it('rejects a resolved stack larger than a Temporal payload (2 MB) before anything starts', () => {
    writeFile('large.env', `LARGE=${'x'.repeat(900 * 1024)}\n`);
    const services = Object.fromEntries(['a', 'b', 'c'].map((name) => [name, { command: 'x', env_file: 'large.env' }]));
    const problems = stackProblems(() => load(JSON.stringify({ services })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the resolved stack is \\d+ KiB, more than the 1984 KiB that fit in one Temporal payload \\(limit 2 MB\\)`));
    expect(TEMPORAL_PAYLOAD_LIMIT_BYTES).toBe(2 * 1024 * 1024);
    expect(load(JSON.stringify({ services: { a: services.a } })).spec.services.a!.env.LARGE).toHaveLength(900 * 1024);
  });
});

describe('publicEnv: the env names whose values may be shown', () => {
  it('lists literal env values and the injected names; env_file values and values taken from the environment are secret', () => {
    writeFile('stack.env', 'STACK_FILE_SECRET=s\nSHADOWED=from-file\n');
    writeFile('api.env', 'API_FILE_SECRET=a\nSTACK_LITERAL_OVERRIDDEN=by-file\n');
    const text = [
      'env_file: stack.env',
      'env: { STACK_LITERAL: info, STACK_LITERAL_OVERRIDDEN: x, SHADOWED: literal, FROM_CALLER: "${TOKEN}", DEFAULTED: "${UNSET_VAR:-8000}", USES_FILE: "${STACK_FILE_SECRET}" }',
      'defaults: { env: { FROM_DEFAULTS: plain, DEFAULTS_SECRET: "x${TOKEN}" } }',
      'services:',
      '  data: { command: x, port: 9000 }',
      '  api:',
      '    command: x',
      '    port: 8000',
      '    depends_on: [data]',
      '    env_file: api.env',
      '    env: { OWN: "$$literal", OWN_SECRET: "${TOKEN:+on}", STACK_LITERAL: "${TOKEN}" }',
    ].join('\n');
    const api = load(text, { TOKEN: 't0ken' }).spec.services.api!;
    expect(api.publicEnv).toEqual(
      [
        'DATA_HOST',
        'DATA_PORT',
        'DATA_URL',
        'DEFAULTED',
        'FROM_DEFAULTS',
        'OWN',
        'PORT',
        'SHADOWED',
        'STACKFLOW_SERVICE',
        'STACKFLOW_STACK',
      ].sort(),
    );
    expect(api.env).toMatchObject({ SHADOWED: 'literal', DEFAULTED: '8000', OWN: '$literal', STACK_LITERAL: 't0ken', STACK_LITERAL_OVERRIDDEN: 'by-file' });
    const secret = Object.keys(api.env).filter((name) => !api.publicEnv.includes(name)).sort();
    expect(secret).toEqual(
      [
        'API_FILE_SECRET',
        'DEFAULTS_SECRET',
        'FROM_CALLER',
        'OWN_SECRET',
        'STACK_FILE_SECRET',
        'STACK_LITERAL',
        'STACK_LITERAL_OVERRIDDEN',
        'USES_FILE',
      ].sort(),
    );
  });

  it('lists STACKFLOW_REPLICA for each replica', () => {
    const { spec } = load('services: { api: { command: x, replicas: 2, env: { A: "1" } } }');
    expect(spec.services['api#1']!.publicEnv).toEqual(['A', 'STACKFLOW_REPLICA', 'STACKFLOW_SERVICE', 'STACKFLOW_STACK']);
  });
});
