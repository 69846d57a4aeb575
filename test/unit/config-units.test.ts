import { toArgv } from '../../src/config/command-line.js';
import { parseDuration, invalidDurationMessage } from '../../src/config/durations.js';
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
      USER_SVC_HOST: '127.0.0.1',
      USER_SVC_PORT: '9000',
    });
  });
});
