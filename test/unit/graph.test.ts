import {
  dependentsOf,
  findCycle,
  longestChain,
  reverseTopologicalOrder,
  startLevels,
  topologicalOrder,
  transitiveDependents,
  withDependencies,
} from '../../src/graph/index.js';

// a diamond (api -> auth, data -> db) plus an independent pair (web -> cdn)
const diamond = { api: ['auth', 'data'], auth: ['db'], data: ['db'], db: [] };
const twoComponents = { ...diamond, web: ['cdn'], cdn: [] };

describe('findCycle', () => {
  it('returns null for an acyclic graph', () => {
    expect(findCycle(twoComponents)).toBeNull();
    expect(findCycle({})).toBeNull();
  });

  it('reports a self-dependency as a cycle of length 1', () => {
    expect(findCycle({ a: ['a'] })).toEqual(['a', 'a']);
  });

  it('reports a cycle of length 3 as a path repeating its first node', () => {
    expect(findCycle({ a: ['b'], b: ['c'], c: ['a'] })).toEqual(['a', 'b', 'c', 'a']);
  });

  it('starts the path where the walk in sorted-name order enters the cycle', () => {
    expect(findCycle({ x: ['b'], b: ['c'], c: ['b'], a: [] })).toEqual(['b', 'c', 'b']);
    expect(findCycle({ z: ['z'], m: ['n'], n: ['m'] })).toEqual(['m', 'n', 'm']);
  });

  it('ignores dependencies on names outside the map', () => {
    expect(findCycle({ a: ['ghost'] })).toBeNull();
  });
});

describe('startLevels', () => {
  it('puts services without dependencies at level 0 and sorts each level', () => {
    expect(startLevels(twoComponents)).toEqual([['cdn', 'db'], ['auth', 'data', 'web'], ['api']]);
  });

  it('places a service one level after its deepest dependency', () => {
    expect(startLevels({ a: [], b: ['a'], c: ['b'], d: ['a', 'c'] })).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('returns no levels for an empty graph', () => {
    expect(startLevels({})).toEqual([]);
  });

  it('throws on a cycle, naming it', () => {
    expect(() => startLevels({ a: ['b'], b: ['a'] })).toThrow('dependency cycle a -> b -> a');
  });
});

describe('topologicalOrder and reverseTopologicalOrder', () => {
  it('orders every service after its dependencies', () => {
    const order = topologicalOrder(twoComponents);
    expect(order).toEqual(['cdn', 'db', 'auth', 'data', 'web', 'api']);
    for (const [name, deps] of Object.entries(twoComponents)) {
      for (const dep of deps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(name));
    }
  });

  it('reverses that order for stopping', () => {
    expect(reverseTopologicalOrder(twoComponents)).toEqual(['api', 'web', 'data', 'auth', 'db', 'cdn']);
  });

  it('throws on a self-dependency', () => {
    expect(() => topologicalOrder({ a: ['a'] })).toThrow('dependency cycle a -> a');
  });
});

describe('withDependencies', () => {
  it('adds everything the named services need, in start order', () => {
    expect(withDependencies(twoComponents, ['api'])).toEqual(['db', 'auth', 'data', 'api']);
    expect(withDependencies(twoComponents, ['auth', 'web'])).toEqual(['cdn', 'db', 'auth', 'web']);
  });

  it('returns nothing for no names', () => {
    expect(withDependencies(twoComponents, [])).toEqual([]);
  });

  it('throws on an unknown name', () => {
    expect(() => withDependencies(diamond, ['apj'])).toThrow('unknown service "apj"');
  });
});

describe('dependentsOf and transitiveDependents', () => {
  it('lists direct dependents, sorted', () => {
    expect(dependentsOf(twoComponents, 'db')).toEqual(['auth', 'data']);
    expect(dependentsOf(twoComponents, 'api')).toEqual([]);
  });

  it('lists transitive dependents in start order, without the service itself', () => {
    expect(transitiveDependents(twoComponents, 'db')).toEqual(['auth', 'data', 'api']);
    expect(transitiveDependents(twoComponents, 'data')).toEqual(['api']);
    expect(transitiveDependents(twoComponents, 'cdn')).toEqual(['web']);
  });

  it('throws on an unknown name', () => {
    expect(() => dependentsOf(diamond, 'nope')).toThrow('unknown service "nope"');
    expect(() => transitiveDependents(diamond, 'nope')).toThrow('unknown service "nope"');
  });
});

describe('longestChain', () => {
  it('follows the heavier branch of a diamond', () => {
    const weights: Record<string, number> = { db: 100, auth: 50, data: 300, api: 10 };
    expect(longestChain(diamond, (name) => weights[name]!)).toEqual({ total: 410, chain: ['db', 'data', 'api'] });
  });

  it('picks the heaviest of disconnected components', () => {
    const weights: Record<string, number> = { db: 1, auth: 1, data: 1, api: 1, cdn: 1, web: 10 };
    expect(longestChain(twoComponents, (name) => weights[name]!)).toEqual({ total: 11, chain: ['cdn', 'web'] });
  });

  it('breaks ties by start order and counts depth with unit weights', () => {
    expect(longestChain(diamond, () => 1)).toEqual({ total: 3, chain: ['db', 'auth', 'api'] });
  });

  it('returns an empty chain for an empty graph', () => {
    expect(longestChain({}, () => 1)).toEqual({ total: 0, chain: [] });
  });

  it('throws on a cycle', () => {
    expect(() => longestChain({ a: ['b'], b: ['c'], c: ['a'] }, () => 1)).toThrow('dependency cycle a -> b -> c -> a');
  });
});
