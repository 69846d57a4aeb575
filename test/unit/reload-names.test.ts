// planReload with any service names the stack file allows, JavaScript's built-in property names
// included: names are data (src/name-map.ts), never looked up on a prototype.
import fc from 'fast-check';
import type { ServiceSpec, StackSpec } from '../../src/model.js';
import { planReload } from '../../src/lifecycle/reload.js';
import { lookup } from '../../src/name-map.js';
import { serviceSpec } from '../fixtures/proc/helpers.js';

const BUILT_IN = Object.getOwnPropertyNames(Object.prototype).filter((name) => /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name));
const serviceName = fc.oneof(fc.constantFrom(...BUILT_IN, 'prototype', 'length', 'name', 'then'), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,6}$/));

/** A stack as it arrives in the workflow: plain JSON, so every object has Object.prototype again. */
function stackOf(names: string[], command: string): StackSpec {
  const services = Object.fromEntries(names.map((name): [string, ServiceSpec] => [name, serviceSpec(name, [command])]));
  return JSON.parse(JSON.stringify({ name: 'names', file: '/x', home: '/x', services })) as StackSpec;
}

describe('planReload with names from the stack-file grammar', () => {
  test('added, removed, changed and unchanged are exactly the set differences', () => {
    fc.assert(
      fc.property(fc.uniqueArray(serviceName, { maxLength: 6 }), fc.uniqueArray(serviceName, { maxLength: 6 }), fc.uniqueArray(serviceName, { maxLength: 6 }), (before, after, edited) => {
        const current = stackOf(before, 'old');
        const next = stackOf(after, 'old');
        for (const name of edited) if (lookup(next.services, name)) next.services[name] = serviceSpec(name, ['new']);
        const plan = planReload(current, next, before);
        expect(plan.added).toEqual(after.filter((n) => !before.includes(n)).sort());
        expect(plan.removed).toEqual(before.filter((n) => !after.includes(n)).sort());
        expect(plan.changed).toEqual(before.filter((n) => after.includes(n) && edited.includes(n)).sort());
        expect(plan.unchanged).toEqual(before.filter((n) => after.includes(n) && !edited.includes(n)).sort());
      }),
    );
  });

  test('lookup finds own keys only', () => {
    fc.assert(
      fc.property(serviceName, (name) => {
        expect(lookup({}, name)).toBeUndefined();
        expect(lookup(JSON.parse(JSON.stringify({ [name]: 1 })) as Record<string, number>, name)).toBe(1);
      }),
    );
  });
});
