// Hosts for multi-host tests: Linux network namespaces on one bridge, each with its own 10.x
// address, made and removed by the test itself (needs root and iproute2; CI runs as root).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readlinkSync, statSync } from 'node:fs';
import net from 'node:net';

/** One test host: a network namespace with its own address on the test bridge. */
export interface TestHost {
  /** The stackflow host id (`worker --host <name>`). */
  name: string;
  /** The network namespace (`ip netns exec <netns> ...`). */
  netns: string;
  /** Its IPv4 address on the bridge. */
  address: string;
}

/** A bridge in the root namespace and one namespace per host, all on one /24. */
export interface TestNetwork {
  /** The bridge's address in the root namespace: where a server for every host listens. */
  gateway: string;
  hosts: TestHost[];
  /** argv prefix that runs a command inside the host's namespace. */
  exec(host: TestHost, argv: string[]): string[];
  /** True when `pid` runs inside the host's namespace. */
  contains(host: TestHost, pid: number): boolean;
  /** Pids of every process inside the host's namespace. */
  pids(host: TestHost): number[];
  /** Deletes the namespaces (their veth ends go with them) and the bridge. */
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be made here, or null when they can (root, iproute2, a working `ip netns add`). */
export function netnsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need CAP_NET_ADMIN)';
  const probe = `sfprobe${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return null;
  } catch (err) {
    return `\`ip netns add\` failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

/**
 * Creates the bridge and one namespace per name, addresses 10.213.<k>.1 (bridge) and .2, .3, ...
 * (hosts in the order given), loopback up in each. `k` is random so parallel runs do not collide.
 * Removes what it made if any step fails.
 */
export function createTestNetwork(names: string[]): TestNetwork {
  const tag = randomBytes(3).toString('hex');
  const subnet = `10.213.${1 + (randomBytes(1)[0] % 250)}`;
  const bridge = `sfbr${tag}`;
  const hosts: TestHost[] = names.map((name, i) => ({ name, netns: `sf${tag}-${name}`, address: `${subnet}.${i + 2}` }));
  const network: TestNetwork = {
    gateway: `${subnet}.1`,
    hosts,
    exec: (host, argv) => ['ip', 'netns', 'exec', host.netns, ...argv],
    contains: (host, pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${statSync(`/run/netns/${host.netns}`).ino}]`;
      } catch {
        return false;
      }
    },
    pids: (host) =>
      ip('netns', 'pids', host.netns)
        .split('\n')
        .filter(Boolean)
        .map(Number),
    remove: () => {
      for (const host of hosts) {
        try {
          ip('netns', 'del', host.netns);
        } catch {
          // not made, or gone already
        }
      }
      try {
        ip('link', 'del', bridge);
      } catch {
        // not made
      }
    },
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${network.gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    hosts.forEach((host, i) => {
      const outside = `sfv${tag}${i}`;
      const inside = `sfv${tag}${i}p`;
      ip('netns', 'add', host.netns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', host.netns);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', inside);
      ip('-n', host.netns, 'link', 'set', inside, 'up');
      ip('-n', host.netns, 'link', 'set', 'lo', 'up');
    });
  } catch (err) {
    network.remove();
    throw err;
  }
  return network;
}

/** A TCP relay: connections to `listen` are piped to `target` (a loopback server the hosts cannot reach). */
export interface TcpRelay {
  /** `host:port` to give the hosts. */
  address: string;
  close(): Promise<void>;
}

/**
 * Makes a loopback server (the jest run's or a test's Temporal dev server) reachable from the test
 * hosts at `<gateway>:<port>`, as a cluster's address is reachable from every machine.
 */
export async function relayToLoopback(gateway: string, target: string): Promise<TcpRelay> {
  const colon = target.lastIndexOf(':');
  const [targetHost, targetPort] = [target.slice(0, colon), Number(target.slice(colon + 1))];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: targetHost, port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, gateway, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${gateway}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
