/** service -> the services it depends on. Names that are not keys of the map are ignored. */
export type DependencyMap = Readonly<Record<string, readonly string[]>>;

/** Every service of the map, sorted, so that each walk over the graph is deterministic. */
export function nodesOf(deps: DependencyMap): string[] {
  return Object.keys(deps).sort();
}

/** The known, distinct dependencies of `name`, sorted. */
export function dependenciesOf(deps: DependencyMap, name: string): string[] {
  return [...new Set(deps[name] ?? [])].filter((dep) => Object.hasOwn(deps, dep)).sort();
}

/** The dependents map: service -> the services that depend on it directly. */
export function invert(deps: DependencyMap): Record<string, string[]> {
  const dependents: Record<string, string[]> = Object.fromEntries(nodesOf(deps).map((name) => [name, []]));
  for (const name of nodesOf(deps)) {
    for (const dep of dependenciesOf(deps, name)) dependents[dep]!.push(name);
  }
  return dependents;
}
