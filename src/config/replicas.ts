import type { Probe, ServiceSpec } from '../model.js';

/** `data` with 3 replicas -> `data#0`, `data#1`, `data#2`; one replica keeps the plain name. */
export function instanceNames(service: string, replicas: number): string[] {
  return replicas === 1 ? [service] : Array.from({ length: replicas }, (_, index) => `${service}#${index}`);
}

export { serviceNameOf } from '../lifecycle/names.js';

/** A probe aimed at the service's own port follows each instance to its port. */
function probeForPort(probe: Probe, servicePort: number, instancePort: number): Probe {
  if (probe.kind === 'tcp' && probe.port === servicePort) return { ...probe, port: instancePort };
  if (probe.kind === 'http') {
    const url = new URL(probe.url);
    if (Number(url.port) === servicePort) {
      url.port = String(instancePort);
      return { ...probe, url: url.href };
    }
  }
  return probe;
}

/** The instances of a service: instance i listens on port + i. Env and dependencies are left to the caller. */
export function expandReplicas(service: ServiceSpec, replicas: number): ServiceSpec[] {
  return instanceNames(service.name, replicas).map((name, index) => {
    if (service.port === undefined || index === 0) return { ...service, name };
    const port = service.port + index;
    const shift = (probe: Probe) => probeForPort(probe, service.port!, port);
    return {
      ...service,
      name,
      port,
      health: { ...service.health, probe: shift(service.health.probe) },
      ...(service.liveness ? { liveness: { ...service.liveness, probe: shift(service.liveness.probe) } } : {}),
    };
  });
}
