import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where outbound webhooks may go: https only, to public addresses — a shop must not be able
 * to aim the data plane at the cluster's internals (control plane, metadata service, the
 * database). `allowHttpLoopback` (WEBHOOKS_ALLOW_HTTP_LOOPBACK, tests and local use) lets
 * http:// to loopback through, and only that.
 */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

export function isLoopbackAddress(address: string): boolean {
  return loopback.check(address, family(address));
}

export function isPublicAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 0) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = v === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return isPublicAddress(mapped);
  return !nonPublic.check(address, family(address));
}

const bareHost = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
const localName = (host: string) =>
  host === 'localhost' ||
  host.endsWith('.localhost') ||
  host.endsWith('.local') ||
  host.endsWith('.internal') ||
  !host.includes('.');

/** Why the URL may not be a webhook endpoint, or null when it may. Checks the text only. */
export function webhookUrlProblem(raw: string, allowHttpLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  const host = bareHost(url.hostname);
  const loopbackHost = host === 'localhost' || (isIP(host) !== 0 && isLoopbackAddress(host));
  if (url.protocol === 'http:') {
    return allowHttpLoopback && loopbackHost ? null : 'must use https';
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (allowHttpLoopback && loopbackHost) return null;
  if (isIP(host) !== 0) return isPublicAddress(host) ? null : 'must not point at a private or local address';
  if (localName(host)) return 'must name a public host';
  return null;
}

/**
 * Checked again just before each delivery, after resolving the name: every address it
 * resolves to must be public (or loopback when allowed). A name that stopped resolving is
 * an ordinary failed attempt.
 */
export async function assertDeliverable(raw: string, allowHttpLoopback: boolean): Promise<void> {
  const textual = webhookUrlProblem(raw, allowHttpLoopback);
  if (textual) throw new Error(`endpoint URL ${textual}`);
  const host = bareHost(new URL(raw).hostname);
  const addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  for (const address of addresses) {
    if (allowHttpLoopback && isLoopbackAddress(address)) continue;
    if (!isPublicAddress(address)) throw new Error('endpoint host resolves to a private or local address');
  }
}
