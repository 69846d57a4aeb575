// down and status need only the stack's name and state directory (identifyStack).
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyStack } from '../../src/config/index.js';
import { stackProblems } from '../support/stack-problems.js';

const root = mkdtempSync(join(tmpdir(), 'stackflow-identity-'));
const dir = join(root, 'My Project');
mkdirSync(dir);
const file = join(dir, 'stack.yaml');
const env = { STACKFLOW_HOME: join(root, 'state') };


describe('identifyStack', () => {
  it('takes the name and home of a valid file, with no note', () => {
    writeFileSync(file, 'name: shop\nservices: { api: { command: "run ${TAG:-dev}" } }\n');
    expect(identifyStack(file, { env })).toEqual({ name: 'shop', home: join(root, 'state') });
  });

  it('reads the name of a file that interpolates a variable now unset, and says why', () => {
    writeFileSync(file, 'name: shop\nservices: { api: { command: "run ${TAG}", port: "${PORT}" } }\n');
    expect(identifyStack(file, { env })).toEqual({
      name: 'shop',
      home: join(root, 'state'),
      note: `services.api.command: variable "TAG" is not set (set it, or give a default: \${TAG:-default}, or \${TAG:-} for empty) (and 1 more); acting on stack "shop" (from the file's name:; -p <name> picks another)`,
    });
  });

  it('reads the name of a file broken further down, interpolated when it can be', () => {
    writeFileSync(file, 'name: ${STACK:-shop}\nservices:\n  api: [unclosed\n');
    expect(identifyStack(file, { env }).name).toBe('shop');
    expect(identifyStack(file, { env: { ...env, STACK: 'other' } }).name).toBe('other');
  });

  it('falls back to the folder name when the file is gone, as compose does', () => {
    rmSync(file, { force: true });
    const identity = identifyStack(file, { env });
    expect(identity.name).toBe('my-project');
    expect(identity.note).toBe(`${file}: stack file not found (create it, or pass another with -c <file>); acting on stack "my-project" (from the folder name; -p <name> picks another)`);
  });

  it('asks for -p when the name itself cannot be told', () => {
    writeFileSync(file, 'name: ${STACK}\nservices: {}\n');
    expect(stackProblems(() => identifyStack(file, { env }))).toEqual([
      `name: variable "STACK" is not set (set it, or give a default: \${STACK:-default}, or \${STACK:-} for empty); or pass the stack's name with -p <name>`,
    ]);
    writeFileSync(file, 'name: Not Valid\nservices: {}\n');
    expect(stackProblems(() => identifyStack(file, { env }))).toEqual([
      `name: invalid stack name (use lower-case letters, digits, "_" and "-", starting with a letter or digit); or pass the stack's name with -p <name>`,
    ]);
  });

  it('uses -p/--project-name without reading the file', () => {
    writeFileSync(file, '\u0000 not even yaml');
    expect(identifyStack(file, { env, name: 'shop' })).toEqual({ name: 'shop', home: join(root, 'state') });
    expect(identifyStack(join(root, 'nowhere', 'stack.yaml'), { env: {}, name: 'shop' }).home).toBe(join(root, 'nowhere', '.stackflow'));
    expect(stackProblems(() => identifyStack(file, { env, name: 'Shop' }))).toEqual([
      '--project-name: invalid stack name (use lower-case letters, digits, "_" and "-", starting with a letter or digit)',
    ]);
  });
});
