import { toArgv } from '../../src/config/command-line.js';
import { parseDuration, invalidDurationMessage } from '../../src/config/durations.js';
import { parseEnvFile } from '../../src/config/env-file.js';
import { interpolate } from '../../src/config/interpolate.js';
import { formatPath, formatProblem, StackFileError } from '../../src/config/problems.js';
import { closest, didYouMean, levenshtein } from '../../src/config/suggest.js';
import { envPrefix, injectedEnv } from '../../src/config/service-env.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    [' 2s ', 2000],
    ['500', 500],
    [750, 750],
    [0, 0],
  ])('reads %p as %p ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['5 sec', '2 s', 's', '-1s', '1d', '', true, null, -5, Number.NaN])('rejects %p', (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });

  it('explains how to write one', () => {
    expect(invalidDurationMessage('5 sec')).toBe('invalid duration "5 sec" (use e.g. 250ms, 2s, 1m, or a number of milliseconds)');
    expect(invalidDurationMessage({})).toBe('invalid duration (got a map) (use e.g. 250ms, 2s, 1m, or a number of milliseconds)');
  });
});

describe('toArgv', () => {
  it('keeps an argv list as it is', () => {
    expect(toArgv(['node', 'a b.js'])).toEqual({ argv: ['node', 'a b.js'] });
  });

  it('splits a string on whitespace, respecting single and double quotes and backslashes', () => {
    expect(toArgv(`node  'my app.js' --name "a \\"b\\" c" x\\ y ''`)).toEqual({
      argv: ['node', 'my app.js', '--name', 'a "b" c', 'x y', ''],
    });
    expect(toArgv('--flag=\'a b\'c')).toEqual({ argv: ['--flag=a bc'] });
  });

  it('reports an unterminated quote', () => {
    expect(toArgv(`node "server.js`)).toEqual({ problem: 'unterminated " quote (close it, or write the command as a list)' });
  });

  it('reports an empty command as missing', () => {
    const missing = { problem: 'missing (give the program to run, e.g. command: [node, server.js])' };
    expect(toArgv('   ')).toEqual(missing);
    expect(toArgv([])).toEqual(missing);
  });
});

describe('interpolate', () => {
  const variables = { HOME: '/home/me', EMPTY: '', PORT: '8000' };

  it('replaces ${VAR} in every string value, not in keys', () => {
    expect(interpolate({ '${HOME}': ['${HOME}/x', 5, true, null], nested: { url: 'http://h:${PORT}' } }, variables)).toEqual({
      value: { '${HOME}': ['/home/me/x', 5, true, null], nested: { url: 'http://h:8000' } },
      problems: [],
    });
  });

  it('uses the default of ${VAR:-default} when VAR is unset or empty', () => {
    const { value } = interpolate(['${NOPE:-dflt}', '${EMPTY:-dflt}', '${PORT:-1}', '${NOPE:-}', '${EMPTY}'], variables);
    expect(value).toEqual(['dflt', 'dflt', '8000', '', '']);
  });

  it('turns $$ into a literal $ and leaves a lone $ alone', () => {
    expect(interpolate('cost $$5, $HOME, $$${PORT}, a$', variables).value).toBe('cost $5, $HOME, $8000, a$');
  });

  it('reports an unset variable without default at its path, and drops the value', () => {
    expect(interpolate({ env: { DB: 'x${DB_HOST}' } }, variables, ['services', 'api'])).toEqual({
      value: { env: { DB: undefined } },
      problems: [{ path: 'services.api.env.DB', message: 'variable "DB_HOST" is not set (set DB_HOST or use ${DB_HOST:-default})' }],
    });
  });

  it('reports a malformed reference', () => {
    expect(interpolate(['${1X}', '${OPEN'], variables).problems.map(formatProblem)).toEqual([
      '[0]: invalid reference "${1X}" (use ${VAR} or ${VAR:-default}; write $$ for a literal $)',
      '[1]: invalid reference "${OPEN" (use ${VAR} or ${VAR:-default}; write $$ for a literal $)',
    ]);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines with comments, export, quotes and blank lines', () => {
    const text = ['# a comment', '', 'A=1', 'export B = "two words"', "C='single # kept'", 'D=x # inline', 'E=', 'F=a=b', '  G=spaced  '].join('\n');
    expect(parseEnvFile(text)).toEqual({
      values: { A: '1', B: 'two words', C: 'single # kept', D: 'x', E: '', F: 'a=b', G: 'spaced' },
      badLines: [],
    });
  });

  it('does not interpolate values', () => {
    expect(parseEnvFile('A=${HOME}').values).toEqual({ A: '${HOME}' });
  });

  it('lists the lines that are not assignments', () => {
    expect(parseEnvFile('A=1\nnot an assignment\r\n=x\n').badLines).toEqual([2, 3]);
  });
});

describe('suggestions', () => {
  it('measures edit distance', () => {
    expect(levenshtein('comand', 'command')).toBe(1);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('same', 'same')).toBe(0);
  });

  it('suggests the closest candidate within 2 edits or by prefix', () => {
    expect(closest('dta', ['data', 'api'])).toBe('data');
    expect(closest('helth', ['host', 'health'])).toBe('health');
    expect(closest('ready', ['ready_timeout', 'interval'])).toBe('ready_timeout');
    expect(closest('zzzzzz', ['data', 'api'])).toBeUndefined();
    expect(didYouMean('Comand', ['command'])).toBe(' (did you mean "command"?)');
    expect(didYouMean('xyzzy', ['command'])).toBe('');
  });
});

describe('problems', () => {
  it('formats a path with dots and list indexes', () => {
    expect(formatPath(['services', 'api', 'env_file', 1])).toBe('services.api.env_file[1]');
    expect(formatPath([])).toBe('');
  });

  it('formats a problem and joins all of them in the error message', () => {
    const problems = [
      { path: 'services.api.depends_on.dta', message: 'unknown service "dta" (did you mean "data"?)' },
      { path: 'services.api.port', message: 'expected a number, got string "80a"' },
    ];
    expect(formatProblem(problems[0]!)).toBe('services.api.depends_on.dta: unknown service "dta" (did you mean "data"?)');
    const error = new StackFileError(problems);
    expect(error).toBeInstanceOf(Error);
    expect(error.problems).toEqual(problems);
    expect(error.message).toBe(problems.map(formatProblem).join('\n'));
  });
});

describe('injected env', () => {
  it('names dependencies in upper snake case', () => {
    expect(envPrefix('user-svc')).toBe('USER_SVC');
    expect(envPrefix('auth.v2')).toBe('AUTH_V2');
  });

  it('tells a service about itself and its dependencies with ports', () => {
    expect(injectedEnv({ stack: 'demo', service: 'api', replica: 1, port: 8001, dependencyPorts: { 'user-svc': 9000, jobs: undefined } })).toEqual({
      STACKFLOW_STACK: 'demo',
      STACKFLOW_SERVICE: 'api',
      STACKFLOW_REPLICA: '1',
      PORT: '8001',
      USER_SVC_URL: 'http://127.0.0.1:9000',
      USER_SVC_PORT: '9000',
    });
  });
});
