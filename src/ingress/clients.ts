/**
 * Who a caller is, for the per-client caps: its address, with an IPv6 address reduced to its
 * network prefix (a subscriber owns a whole /64 and can use any address in it), and behind a
 * trusted proxy the address that proxy reports in X-Forwarded-For (nginx's `set_real_ip_from` with
 * `real_ip_recursive on`: the right-most entry that is not itself a trusted proxy).
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import { parseCidr } from '../verifiers/ip-allow.ts';

/** The address without the IPv4-mapped prefix (`::ffff:192.0.2.1` is the IPv4 caller 192.0.2.1). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The key a caller is counted under: an IPv4 address as is, an IPv6 address as its first
 * `ipv6Prefix` bits (`2001:db8:1:2::/64`). Anything that is not an address is its own key.
 */
export function clientKey(address: string, ipv6Prefix: number): string {
  const plain = plainAddress(address);
  if (isIP(plain) !== 6) return plain;
  const groups = expandIpv6(plain);
  if (!groups) return plain;
  let bits = ipv6Prefix;
  const kept: number[] = [];
  for (const group of groups) {
    if (bits >= 16) kept.push(group);
    else if (bits > 0) kept.push(group & (0xffff << (16 - bits)) & 0xffff);
    else kept.push(0);
    bits -= 16;
  }
  return `${compressIpv6(kept)}/${ipv6Prefix}`;
}

/** The eight 16-bit groups of an IPv6 address (zone index dropped, embedded IPv4 converted). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.split('%')[0]!;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16));
}

/** RFC 5952 text form: the longest run of two or more zero groups becomes `::`. */
function compressIpv6(groups: number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** What is counted per client: its open connections and its requests to routes in flight. */
export interface ClientEntry {
  key: string;
  connections: number;
  requests: number;
}

export interface ClientSettings {
  ipv6Prefix: number;
  trustedProxies: string[];
}

const CLIENT = Symbol('hookrelay.client');
const KEY = Symbol('hookrelay.clientKey');
const COUNTED = Symbol('hookrelay.countedAgainst');
type Tagged = Socket & { [CLIENT]?: ClientEntry | null };
type Keyed = IncomingMessage & { [KEY]?: string; [COUNTED]?: ClientEntry | undefined };

/**
 * The per-client counts of one listener. A direct caller's entry is looked up once per connection
 * and kept on the socket; a trusted proxy's socket carries `null`, and each of its requests is
 * looked up by the forwarded address. Entries go once nothing is counted against them.
 */
export class ClientTable {
  readonly #entries = new Map<string, ClientEntry>();
  readonly #proxies: BlockList | undefined;
  readonly #ipv6Prefix: number;

  constructor(settings: ClientSettings) {
    this.#ipv6Prefix = settings.ipv6Prefix;
    if (settings.trustedProxies.length > 0) {
      const list = new BlockList();
      for (const cidr of settings.trustedProxies) {
        const parsed = parseCidr(cidr);
        if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
      }
      this.#proxies = list;
    }
  }

  /** The entry a new connection counts against, or null for a trusted proxy's connection. */
  attach(socket: Socket): ClientEntry | null {
    const address = plainAddress(socket.remoteAddress ?? '');
    const entry = this.#isProxy(address) ? null : this.#entry(clientKey(address, this.#ipv6Prefix));
    (socket as Tagged)[CLIENT] = entry;
    if (entry) entry.connections++;
    return entry;
  }

  detach(socket: Socket): void {
    const entry = (socket as Tagged)[CLIENT];
    if (!entry) return;
    entry.connections--;
    this.#release(entry);
  }

  /** Requests to routes in flight from the caller of `req`: its connection's client, or behind a proxy the forwarded one. */
  inFlight(req: IncomingMessage): number {
    const entry = (req.socket as Tagged)[CLIENT];
    if (entry) return entry.requests;
    const key = clientKey(this.#forwardedAddress(req), this.#ipv6Prefix);
    (req as Keyed)[KEY] = key;
    return this.#entries.get(key)?.requests ?? 0;
  }

  /** Counts a request to a route against its caller until `end(req)`. */
  begin(req: IncomingMessage): void {
    let entry = (req.socket as Tagged)[CLIENT];
    if (!entry) {
      const keyed = req as Keyed;
      entry = this.#entry(keyed[KEY] ?? clientKey(this.#forwardedAddress(req), this.#ipv6Prefix));
    }
    (req as Keyed)[COUNTED] = entry;
    entry.requests++;
  }

  end(req: IncomingMessage): void {
    const entry = (req as Keyed)[COUNTED];
    if (!entry) return;
    (req as Keyed)[COUNTED] = undefined;
    entry.requests--;
    this.#release(entry);
  }

  #forwardedAddress(req: IncomingMessage): string {
    const peer = plainAddress(req.socket.remoteAddress ?? '');
    const header = req.headers['x-forwarded-for'];
    // Only a trusted proxy's word counts: anyone else can write the header.
    if (header === undefined || !this.#isProxy(peer)) return peer;
    const chain = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const address = plainAddress(chain[i]!.trim());
      // Not an address (garbage, or a port some proxies append): the proxy itself is counted.
      if (isIP(address) === 0) break;
      if (!this.#isProxy(address)) return address;
    }
    return peer;
  }

  #isProxy(address: string): boolean {
    if (!this.#proxies) return false;
    const family = isIP(address);
    return family !== 0 && this.#proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  #entry(key: string): ClientEntry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { key, connections: 0, requests: 0 };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #release(entry: ClientEntry): void {
    if (entry.connections === 0 && entry.requests === 0) this.#entries.delete(entry.key);
  }

  /** Clients currently counted (for tests and diagnostics). */
  get size(): number {
    return this.#entries.size;
  }
}
