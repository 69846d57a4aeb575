// Who listens on a TCP port, from the kernel's own tables: /proc/net/tcp and /proc/net/tcp6 list
// every socket with its state and inode (see the kernel's Documentation/networking/proc_net_tcp.rst),
// /proc/<pid>/fd links a process to `socket:[<inode>]`. Readiness uses it to count only the
// service's own listener; the spawn and the preflight use it to name whoever holds a port.
//
// Loopback rule: 127.0.0.1, ::1 and `localhost` are one loopback. A service is reachable on
// loopback when it listens on 127.0.0.1, ::1, 0.0.0.0 or :: (dual stack); probes try 127.0.0.1
// and then ::1, so a server that listens on [::1] only (Node ≥ 17 resolving `localhost`, Vite) is
// seen as well as one on 127.0.0.1. The registry's URL and an injected `<DEP>_URL` name ::1 when
// that is the only loopback the service answers on.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { describeProcess, environOf } from '../process/proc.js';

/** The two loopback addresses, in the order probes try them. */
export const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1'] as const;
export type LoopbackAddress = (typeof LOOPBACK_ADDRESSES)[number];

/** `localhost`, any 127.x.y.z, `::1` (with or without brackets), `::ffff:127.x.y.z`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

/** A listening TCP socket: its local address (`0.0.0.0`, `::1`, ...), port and inode. */
export interface Listener {
  address: string;
  port: number;
  inode: number;
}

const TCP_LISTEN = '0A';

/** Sockets in LISTEN state on `port` (every address, IPv4 and IPv6) in this network namespace. */
export function listenersOn(port: number): Listener[] {
  const found: Listener[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // No IPv6 in this kernel.
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
      const [hexAddress, hexPort] = fields[1]!.split(':');
      if (parseInt(hexPort!, 16) !== port) continue;
      found.push({ address: v6 ? ipv6(hexAddress!) : ipv4(hexAddress!), port, inode: Number(fields[9]) });
    }
  }
  return found;
}

/** /proc/net/tcp writes an IPv4 address as one 32-bit word in host (little-endian) order. */
function ipv4(hex: string): string {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
}

/** ... and an IPv6 address as four such words. */
function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) for (const i of [3, 2, 1, 0]) bytes.push(parseInt(hex.slice(word * 8 + i * 2, word * 8 + i * 2 + 2), 16));
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!).toString(16));
  const text = groups.join(':');
  // The longest run of zero groups becomes `::` (RFC 5952, enough for the addresses compared here).
  const runs = [...text.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)].sort((a, b) => b[0].length - a[0].length);
  return runs[0] ? text.replace(runs[0][0], '::') : text;
}

/**
 * The listener a connection to `target` (a loopback address) on `port` reaches, most specific bind
 * first: the exact address, then the IPv4 or IPv6 wildcard (`::` also takes IPv4, dual stack).
 */
export function listenerReached(listeners: Listener[], target: LoopbackAddress): Listener | undefined {
  const order =
    target === '127.0.0.1' ? [(a: string) => a.startsWith('127.') || a.startsWith('::ffff:127.'), (a: string) => a === '0.0.0.0' || a === '::ffff:0.0.0.0', (a: string) => a === '::'] : [(a: string) => a === '::1', (a: string) => a === '::'];
  for (const matches of order) {
    const hit = listeners.find((l) => matches(l.address));
    if (hit) return hit;
  }
  return undefined;
}

/** Inodes of the sockets `pids` hold open. */
export function socketInodes(pids: Iterable<number>): Set<number> {
  const inodes = new Set<number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(Number(match[1]));
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return inodes;
}

/** A process holding a listening socket: pid, command line and, for a stackflow service, its stack. */
export interface PortHolder {
  pid: number;
  command: string;
  stack: string | null;
}

/** Every process that holds a socket listening on `port`; [] when none does (or none we may look into). */
export function portHolders(port: number): PortHolder[] {
  const inodes = new Set(listenersOn(port).map((l) => l.inode));
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if ([...socketInodes([pid])].some((inode) => inodes.has(inode))) {
      const stack = environOf(pid).find((e) => e.startsWith('STACKFLOW_STACK='))?.slice('STACKFLOW_STACK='.length) ?? null;
      holders.push({ pid, command: describeProcess(pid), stack });
    }
  }
  return holders;
}

/** `port 8001 is held by pid 25276 (node examples/services/data.mjs, stack demo)`; null when the port is free. */
export function portHeldMessage(port: number): string | null {
  const holders = portHolders(port);
  if (listenersOn(port).length === 0) return null;
  if (holders.length === 0) return `port ${port} is in use by another process`;
  const named = holders.map((h) => `pid ${h.pid} (${h.command}${h.stack ? `, stack ${h.stack}` : ''})`);
  return `port ${port} is held by ${named.join(', ')}`;
}

/**
 * Where a service listening on `port` answers on loopback, as a URL: `http://127.0.0.1:<port>`, or
 * `http://[::1]:<port>` when only ::1 reaches it (so the registry points where it really answers).
 */
export function loopbackUrl(port: number): string {
  const listeners = listenersOn(port);
  const v4 = listenerReached(listeners, '127.0.0.1');
  return v4 === undefined && listenerReached(listeners, '::1') !== undefined ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`;
}

/**
 * `env` with each injected `<DEP>_URL=http://127.0.0.1:<port>` (the one whose `<DEP>_PORT` is that
 * port, see src/config/service-env.ts) pointed at `http://[::1]:<port>` (and its `<DEP>_HOST` at
 * `::1`) when the dependency answers on ::1 only. Applied at spawn, when the dependencies this service waits for are listening; any
 * other value is left as written.
 */
export function withLoopbackUrls(env: Record<string, string>): Record<string, string> {
  const out = { ...env };
  for (const [key, value] of Object.entries(env)) {
    const port = env[`${key.slice(0, -'_URL'.length)}_PORT`];
    if (!key.endsWith('_URL') || port === undefined || value !== `http://127.0.0.1:${port}`) continue;
    out[key] = loopbackUrl(Number(port));
    // `<DEP>_HOST` follows its URL to ::1.
    const hostKey = `${key.slice(0, -'_URL'.length)}_HOST`;
    if (out[key] !== value && env[hostKey] === '127.0.0.1') out[hostKey] = '::1';
  }
  return out;
}
