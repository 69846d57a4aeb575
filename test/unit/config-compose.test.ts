// Compose's env-file and interpolation grammars as tables. Sources: compose's documentation
// (https://docs.docker.com/compose/env-file/ and "Interpolation",
// https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/) and compose-go's
// dotenv/parser.go and template/template.go (github.com/compose-spec/compose-go).
import { describe, expect, it } from '@jest/globals';
import { parseEnvFile } from '../../src/config/env-file.js';
import { interpolate, lookupIn, substitute } from '../../src/config/interpolate.js';

const caller = lookupIn({ OTHER: 'other', HOME: '/home/me', EMPTY: '' });

function envValue(line: string): string | undefined {
  const { values, problems } = parseEnvFile(line, caller);
  expect(problems).toEqual([]);
  return values.VAR;
}

describe('env_file: compose documentation examples', () => {
  it.each([
    ['VAR=VAL', 'VAL'],
    ['VAR="VAL"', 'VAL'],
    ["VAR='VAL'", 'VAL'],
    ['VAR=VAL # comment', 'VAL'],
    ['VAR=VAL# not a comment', 'VAL# not a comment'],
    ['VAR="VAL # not a comment"', 'VAL # not a comment'],
    ['VAR="VAL" # comment', 'VAL'],
    ["VAR='$OTHER'", '$OTHER'],
    ["VAR='${OTHER}'", '${OTHER}'],
    ["VAR='Let\\'s go!'", "Let's go!"],
    ['VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'],
    ['VAR="some\\tvalue"', 'some\tvalue'],
    ["VAR='some\\tvalue'", 'some\\tvalue'],
    ['VAR=some\\tvalue', 'some\\tvalue'],
    ['VAR=$OTHER', 'other'],
    ['VAR="${OTHER}/x"', 'other/x'],
    ['VAR=${NOPE:-default}', 'default'],
  ])('%s -> %j', (line, expected) => {
    expect(envValue(line)).toBe(expected);
  });
});

describe('env_file: the rest of compose-go parser.go', () => {
  it('reads the issue example: double and single quotes stripped, inline comments dropped', () => {
    const text = ['DB_PASSWORD="s3cret value"   # staging only', "API_URL='http://127.0.0.1:39011/api'  # gateway"].join('\n');
    expect({ ...parseEnvFile(text).values }).toEqual({ DB_PASSWORD: 's3cret value', API_URL: 'http://127.0.0.1:39011/api' });
  });

  it.each([
    ['export VAR=x', 'x'],
    ['export   VAR = "x"', 'x'],
    ['VAR: yaml-style', 'yaml-style'],
    ['VAR=', ''],
    ['VAR=""', ''],
    ["VAR=''", ''],
    ['VAR=a=b=c', 'a=b=c'],
    ['VAR="a=b # c"', 'a=b # c'],
    ["VAR='#hash'", '#hash'],
    ['  VAR  =  spaced out  ', 'spaced out'],
    ['VAR=tab\t#x', 'tab\t#x'],
    ['VAR="\\\\ \\" \\$HOME \\n \\r \\a \\b \\f \\v"', '\\ " $HOME \n \r \x07 \b \f \v'],
    ['VAR="\\0123"', 'S'],
    ['VAR="\\0 \\012 \\c \\x41"', '\\0 \\012 \\c \\x41'],
    ["VAR='a \\\" b'", 'a \\" b'],
    ['VAR=$$literal', '$literal'],
    ['VAR="cost $$5"', 'cost $5'],
    ['VAR=it"s', 'it"s'],
  ])('%j -> %j', (line, expected) => {
    expect(envValue(line)).toBe(expected);
  });

  it('accepts names with ".", "-", "[" and "]" as compose-go does', () => {
    expect({ ...parseEnvFile('a.b-c[0]=x').values }).toEqual({ 'a.b-c[0]': 'x' });
  });

  it('reads CRLF files, a BOM, blank lines and comment lines', () => {
    const text = '\ufeff# comment\r\n\r\nA=1\r\nB="two"\r\n  # indented comment\r\nC=3 # c\r\n';
    expect({ ...parseEnvFile(text).values }).toEqual({ A: '1', B: 'two', C: '3' });
  });

  it('reads quoted values over several lines', () => {
    const text = 'KEY="-----BEGIN-----\nline\n-----END-----"\nNEXT=\'a\nb\'\nLAST=1';
    expect({ ...parseEnvFile(text).values }).toEqual({ KEY: '-----BEGIN-----\nline\n-----END-----', NEXT: 'a\nb', LAST: '1' });
  });

  it('takes a bare NAME from the caller environment, and skips it when unset there', () => {
    expect({ ...parseEnvFile('HOME\nNOT_SET\nA=1', caller).values }).toEqual({ HOME: '/home/me', A: '1' });
  });

  it('interpolates from the caller environment first, then the lines above', () => {
    const text = 'BASE=/srv\nOTHER=mine\nDIR=${BASE}/x\nWHO=$OTHER';
    expect({ ...parseEnvFile(text, caller).values }).toEqual({ BASE: '/srv', OTHER: 'mine', DIR: '/srv/x', WHO: 'other' });
  });

  it('reports what compose would guess about, with the line', () => {
    const text = ['A=1', 'has space=2', '1ABC=3', 'B="x" trailing', 'C=${NOPE}', 'D=ok', "E='never closed", 'F=lost'].join('\n');
    const { values, problems } = parseEnvFile(text);
    expect({ ...values }).toEqual({ A: '1', D: 'ok' });
    expect(problems).toEqual([
      { line: 2, message: 'variable name "has space" contains a space (write NAME=value)' },
      { line: 3, message: 'variable name "1ABC" starts with a digit (compose ignores such lines; rename it)' },
      { line: 4, message: 'unexpected "trailing" after the closing quote (put it inside the quotes, or start a comment with " #")' },
      { line: 5, message: 'variable "NOPE" is not set (set it, or give a default: ${NOPE:-default}, or ${NOPE:-} for empty)' },
      { line: 7, message: "unterminated ' quote (close it; a quoted value may span lines)" },
    ]);
  });

  it('reports a character that cannot be in a name', () => {
    expect(parseEnvFile('A$B=1').problems).toEqual([
      { line: 1, message: 'unexpected character "$" in variable name (write NAME=value; quote values, not names)' },
    ]);
  });

  it('keeps names such as __proto__ and constructor as data', () => {
    const { values } = parseEnvFile('__proto__=p\nconstructor=c\ntoString=t');
    expect(Object.getPrototypeOf(values)).toBeNull();
    expect(Object.entries(values)).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
      ['toString', 't'],
    ]);
  });
});

describe('env_file: cases from compose-go dotenv/godotenv_test.go', () => {
  it.each([
    ['FOO =bar', 'bar'],
    ['FOO= bar', 'bar'],
    ['FOO="escaped\\"bar"', 'escaped"bar'],
    ['FOO="\\"quoted\\""', '"quoted"'],
    ['FOO="\'d\'"', "'d'"],
    ['FOO: Foo=bar', 'Foo=bar'],
    ['FOO=1:B', '1:B'],
    ['export\tFOO=2', '2'],
    ['\texport FOO=2', '2'],
    ['export FOO="export A"', 'export A'],
    ['FOO="bar\\nbaz"', 'bar\nbaz'],
    ['FOO=a\\tb', 'a\\tb'],
    ['FOO="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', 'Z\x07Z\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ'],
    ['FOO=foobar=', 'foobar='],
    ['FOO=bar ', 'bar'],
    ['FOO=bar #this is foo', 'bar'],
    ['FOO=bar #', 'bar'],
    ['FOO=123#not-an-inline-comment', '123#not-an-inline-comment'],
    ['FOO="bar#baz"#', 'bar#baz'],
    ["FOO='bar#baz' # comment", 'bar#baz'],
    ['FOO="bar\\n\\ b\\az"', 'bar\n\\ b\x07z'],
    ['FOO="bar\\\\\\n\\ b\\az"', 'bar\\\n\\ b\x07z'],
    ['FOO="bar\\nbaz\\\\"', 'bar\nbaz\\'],
    ['FOO="\\x07 \\u12e4 \\U00101234"', '\\x07 \\u12e4 \\U00101234'],
  ])('%s -> %j', (line, expected) => {
    const { values, problems } = parseEnvFile(line);
    expect(problems).toEqual([]);
    expect(values.FOO).toBe(expected);
  });

  it.each(['KEY="', 'KEY="value', 'KEY="value\\"', "KEY=\"value'", "KEY='", "KEY='value", "KEY='value\\'", 'KEY=\'value"'])(
    'reports the unterminated quote of %s',
    (line) => {
      expect(parseEnvFile(line).problems).toEqual([{ line: 1, message: `unterminated ${line[4]} quote (close it; a quoted value may span lines)` }]);
    },
  );

  it('reports lol$wut, and an empty name (compose-go accepts `="value"` under the name "")', () => {
    expect(parseEnvFile('lol$wut').problems).toHaveLength(1);
    expect(parseEnvFile('="value"').problems).toEqual([{ line: 1, message: 'expected NAME=value (fix it or comment it out with #)' }]);
  });
});

describe('interpolation: cases from compose-go template/template_test.go', () => {
  const variables = lookupIn({ FOO: 'first', BAR: '', JSON: '{"json":2}' });
  it.each([
    ['-ok ${BAR:-defaultValue}', '-ok defaultValue'],
    ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '],
    [':-ok ${UNSET-defaultValue}', ':-ok defaultValue'],
    [':-ok ${BAR-defaultValue}', ':-ok '],
    ['ok ${UNSET_VAR-$FOO}', 'ok first'],
    ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR:-${FOO} ${FOO}}', 'ok first first'],
    ['ok ${BAR+$FOO}', 'ok first'],
    ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
    ['ok ${FOO:?err}', 'ok first'],
    ['ok ${BAR?err}', 'ok '],
    ['${UNSET_VAR-myerror?msg}', 'myerror?msg'],
    ['ok ${missing:-{"json":1}}', 'ok {"json":1}'],
    ['ok ${JSON-{"json":1}}', 'ok {"json":2}'],
  ])('%s -> %j', (template, expected) => {
    expect(substitute(template, variables)).toMatchObject({ text: expected });
  });

  it.each([
    ['${UNSET_VAR:?Mandatory Variable ${FOO}}', 'required variable "UNSET_VAR" is missing a value: Mandatory Variable first (set UNSET_VAR)'],
    ['${BAR:?Mandatory Variable Empty}', 'required variable "BAR" is missing a value: Mandatory Variable Empty (set BAR)'],
    ['${UNSET_VAR?}', 'required variable "UNSET_VAR" is missing a value (set UNSET_VAR)'],
    ['${', 'unterminated "${" (close it with }, or write $$ for a literal $)'],
  ])('%s is a problem', (template, problem) => {
    expect(substitute(template, variables)).toEqual({ problem });
  });
});

describe('interpolation: compose template.go', () => {
  const variables = lookupIn({ POSTGRES_USER: 'appuser', BASE_DIR: '/srv/app', EMPTY: '', SET: 'yes' });
  const text = (template: string) => {
    const result = substitute(template, variables);
    if ('problem' in result) throw new Error(result.problem);
    return result.text;
  };

  it('resolves the issue example: a default that is itself a reference, and one with text after it', () => {
    expect(text('${POSTGRES_DB:-${POSTGRES_USER}}')).toBe('appuser');
    expect(text('${CACHE_DIR:-${BASE_DIR}/cache}')).toBe('/srv/app/cache');
  });

  it.each([
    ['${SET}', 'yes'],
    ['$SET', 'yes'],
    ['$SET/x-$SET', 'yes/x-yes'],
    ['${EMPTY}', ''],
    ['${UNSET:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${SET:-d}', 'yes'],
    ['${UNSET-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${UNSET:+alt}', ''],
    ['${SET+alt}', 'alt'],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${SET:?must be set}', 'yes'],
    ['${EMPTY?must be set}', ''],
    ['${UNSET:-}', ''],
    ['${UNSET:-a-b:c}', 'a-b:c'],
    ['${UNSET:-${ALSO_UNSET:-${SET}}}', 'yes'],
    ['${SET:+${BASE_DIR}/on}', '/srv/app/on'],
    ['${SET:-${UNSET}}', 'yes'],
    ['$$', '$'],
    ['$${SET}', '${SET}'],
    ['$$$SET', '$yes'],
    ['cost $5 and a$', 'cost $5 and a$'],
    ['$-x $ $.', '$-x $ $.'],
  ])('%s -> %j', (template, expected) => {
    expect(text(template)).toBe(expected);
  });

  it.each([
    ['${UNSET}', 'variable "UNSET" is not set (set it, or give a default: ${UNSET:-default}, or ${UNSET:-} for empty)'],
    ['$UNSET', 'variable "UNSET" is not set (set it, or give a default: ${UNSET:-default}, or ${UNSET:-} for empty)'],
    ['${UNSET:?needs a value}', 'required variable "UNSET" is missing a value: needs a value (set UNSET)'],
    ['${EMPTY:?}', 'required variable "EMPTY" is missing a value (set EMPTY)'],
    ['${UNSET?err ${SET}}', 'required variable "UNSET" is missing a value: err yes (set UNSET)'],
    ['${SET', 'unterminated "${SET" (close it with }, or write $$ for a literal $)'],
    ['${UNSET:-${SET}', 'unterminated "${UNSET:-${SET}" (close it with }, or write $$ for a literal $)'],
  ])('%s is a problem: %s', (template, problem) => {
    expect(substitute(template, variables)).toEqual({ problem });
  });

  it.each(['${}', '${1X}', '${#SET}', '${SET/a/b}', '${SET:1}', '${SET:1:2}', '${!SET}', '${SET^^}', '${ SET}', '${SET=x}'])(
    'the unsupported form %s is a problem naming it',
    (template) => {
      expect(substitute(`a ${template} b`, variables)).toEqual({
        problem: `unsupported interpolation "${template}" (the supported forms are \${VAR}, $VAR, \${VAR:-default}, \${VAR-default}, \${VAR:?error}, \${VAR?error}, \${VAR:+alt}, \${VAR+alt}, $$ for a literal $)`,
      });
    },
  );

  it('reports whether a set variable was consulted (what makes a value secret)', () => {
    expect(substitute('${UNSET:-x}', variables)).toEqual({ text: 'x', fromVariables: false });
    expect(substitute('${SET:-x}', variables)).toEqual({ text: 'yes', fromVariables: true });
    expect(substitute('plain $$', variables)).toEqual({ text: 'plain $', fromVariables: false });
  });

  it('interpolates every string of a tree, not keys, at its path, and drops what fails', () => {
    const result = interpolate({ '${SET}': ['${SET}/x', null], env: { A: 'x${UNSET}' } }, { SET: 'yes' }, ['services', 'api']);
    expect(JSON.parse(JSON.stringify(result.value))).toEqual({ '${SET}': ['yes/x', null], env: {} });
    expect(result.problems).toEqual([
      { path: 'services.api.env.A', message: 'variable "UNSET" is not set (set it, or give a default: ${UNSET:-default}, or ${UNSET:-} for empty)' },
    ]);
    expect([...result.fromVariables]).toEqual(['["services","api","${SET}",0]']);
  });

  it('looks up own variables only: ${constructor} is unset unless set', () => {
    expect(substitute('${constructor:-none}', lookupIn({}))).toEqual({ text: 'none', fromVariables: false });
    expect(substitute('$toString', lookupIn({ toString: 't' }))).toEqual({ text: 't', fromVariables: true });
  });
});
