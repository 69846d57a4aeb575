import { nameMap } from '../name-map.js';
import { envPrefix, LOOPBACK } from '../lifecycle/names.js';

export { envPrefix, LOOPBACK };

export interface InjectedEnvInput {
  stack: string;
  service: string;
  /** The instance index, for a replicated service only. */
  replica?: number;
  port?: number;
  /** The ports of the service's dependencies (instance 0 of a replicated one), by service name. */
  dependencyPorts: Record<string, number | undefined>;
}

/**
 * What stackflow tells a service about itself and where its dependencies listen (a null-prototype
 * map): loopback here; a dependency on another host gets its host's address in `<DEP>_URL` /
 * `<DEP>_HOST` when its dependent is launched (src/lifecycle/hosts.ts).
 */
export function injectedEnv({ stack, service, replica, port, dependencyPorts }: InjectedEnvInput): Record<string, string> {
  const env = nameMap([
    ['STACKFLOW_STACK', stack],
    ['STACKFLOW_SERVICE', service],
  ]);
  if (replica !== undefined) env.STACKFLOW_REPLICA = String(replica);
  if (port !== undefined) env.PORT = String(port);
  for (const [dependency, dependencyPort] of Object.entries(dependencyPorts)) {
    if (dependencyPort === undefined) continue;
    env[`${envPrefix(dependency)}_URL`] = `http://${LOOPBACK}:${dependencyPort}`;
    env[`${envPrefix(dependency)}_HOST`] = LOOPBACK;
    env[`${envPrefix(dependency)}_PORT`] = String(dependencyPort);
  }
  return env;
}
