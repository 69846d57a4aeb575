// Naming rules shared by the config loader and the workflows (pure): instance names and the
// variables that point a service at its dependencies.

/** Where a dependency on the same host is reached (`<DEP>_URL`, `<DEP>_HOST`). */
export const LOOPBACK = '127.0.0.1';

/** `user-svc` -> `USER_SVC`, the prefix of the variables that point other services at it. */
export function envPrefix(service: string): string {
  return service.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** `data#1` -> `data`: the service an instance of a replicated service belongs to. */
export function serviceNameOf(instance: string): string {
  return instance.split('#')[0]!;
}
