// Checks across services (dependencies, cycles, ports) and the final StackSpec: replicas expanded, env injected.
import { findCycle, startLevels } from '../graph/index.js';
import type { ServiceSpec, StackSpec } from '../model.js';
import { mergeNameMaps, nameMap } from '../name-map.js';
import type { Problem } from './problems.js';
import { expandReplicas, instanceNames } from './replicas.js';
import type { BaseService } from './service.js';
import { injectedEnv } from './service-env.js';
import { didYouMean } from './suggest.js';

export interface LoadedStack {
  spec: StackSpec;
  /** Services switched off with `disabled: true`, by name. */
  disabled: string[];
  /** Start levels of the enabled services (level 0 has no dependencies), for printing. */
  levels: string[][];
}

export interface StackDraft {
  name: string;
  file: string;
  home: string;
  /** The services without problems of their own, in file order. */
  services: Map<string, BaseService>;
  /** Services left out because of their own problems: still known names for `depends_on`. */
  invalidServices: string[];
  /** The stack file's `hosts:` map, when it has one. */
  hosts?: StackSpec['hosts'];
}

function dependencyProblems(draft: StackDraft): Problem[] {
  const known = [...draft.services.keys(), ...draft.invalidServices];
  const problems: Problem[] = [];
  for (const [name, service] of draft.services) {
    for (const dependency of Object.keys(service.spec.dependsOn)) {
      const path = `services.${name}.depends_on.${dependency}`;
      if (!known.includes(dependency)) {
        problems.push({ path, message: `unknown service "${dependency}"${didYouMean(dependency, known)}` });
      } else if (!service.disabled && draft.services.get(dependency)?.disabled) {
        problems.push({ path, message: `service "${dependency}" is disabled (enable it or remove the dependency)` });
      }
    }
  }
  return problems;
}

function cycleProblems(enabled: Map<string, BaseService>): Problem[] {
  const deps = nameMap([...enabled].map(([name, service]) => [name, Object.keys(service.spec.dependsOn)] as const));
  const cycle = findCycle(deps);
  if (!cycle) return [];
  return [{ path: 'services', message: `dependency cycle ${cycle.join(' -> ')} (remove one of these depends_on entries)` }];
}

/** Replicas occupy port .. port + replicas - 1; the later service in the file is the one reported. */
function portProblems(enabled: Map<string, BaseService>): Problem[] {
  const owners = new Map<number, string>();
  const problems: Problem[] = [];
  for (const [name, { spec, replicas }] of enabled) {
    if (spec.port === undefined) continue;
    const last = spec.port + replicas - 1;
    if (last > 65535) {
      problems.push({ path: `services.${name}.replicas`, message: `${replicas} replicas need ports ${spec.port}..${last}, past 65535 (lower port or replicas)` });
      continue;
    }
    const ports = instanceNames(name, replicas).map((instance, index) => [spec.port! + index, instance] as const);
    const clash = ports.find(([port]) => owners.has(port));
    if (clash) {
      const [port] = clash;
      problems.push({ path: `services.${name}.port`, message: `port ${port} is also used by "${owners.get(port)}" (give each service its own port)` });
      continue;
    }
    for (const [port, instance] of ports) owners.set(port, instance);
  }
  return problems;
}

function instancesOf(stack: string, enabled: Map<string, BaseService>, service: BaseService): ServiceSpec[] {
  const { spec, replicas } = service;
  const dependencies = Object.entries(spec.dependsOn);
  const dependsOn = nameMap(
    dependencies.flatMap(([dependency, condition]) =>
      instanceNames(dependency, enabled.get(dependency)!.replicas).map((instance) => [instance, condition]),
    ),
  );
  const dependencyPorts = nameMap(dependencies.map(([dependency]) => [dependency, enabled.get(dependency)!.spec.port] as const));
  return expandReplicas(spec, replicas).map((instance, index) => {
    const injected = injectedEnv({
      stack,
      service: spec.name,
      ...(replicas > 1 ? { replica: index } : {}),
      ...(instance.port === undefined ? {} : { port: instance.port }),
      dependencyPorts,
    });
    return {
      ...instance,
      dependsOn,
      env: mergeNameMaps(instance.env, injected),
      publicEnv: [...new Set([...instance.publicEnv, ...Object.keys(injected)])].sort(),
    };
  });
}

/** The loaded stack, or the problems that stop it from being one. */
export function resolveStack(draft: StackDraft): { loaded?: LoadedStack; problems: Problem[] } {
  const enabled = new Map([...draft.services].filter(([, service]) => !service.disabled));
  const problems = [...dependencyProblems(draft), ...cycleProblems(enabled), ...portProblems(enabled)];
  // an invalid service is not in draft.services, so nothing can be built on it
  if (problems.length > 0 || draft.invalidServices.length > 0) return { problems };

  const services = nameMap(
    [...enabled.values()].flatMap((service) => instancesOf(draft.name, enabled, service)).map((spec) => [spec.name, spec] as const),
  );
  const dependencyMap = nameMap(Object.values(services).map((spec) => [spec.name, Object.keys(spec.dependsOn)] as const));
  return {
    loaded: {
      spec: { name: draft.name, file: draft.file, home: draft.home, services, ...(draft.hosts && { hosts: draft.hosts }) },
      disabled: [...draft.services].filter(([, service]) => service.disabled).map(([name]) => name),
      levels: startLevels(dependencyMap),
    },
    problems: [],
  };
}
