import { BlockList, isIP } from 'node:net';
import { DomainError, ErrorCode } from '../../kernel/errors.js';

/** Which endpoints a tenant may point Roster at (ROSTER_WEBHOOK_ALLOW_* in the configuration). */
export interface EndpointPolicy {
  /** http://localhost, http://127.0.0.1 and http://[::1] (development and tests). */
  allowHttpLocalhost: boolean;
  /** Private, loopback, link-local and other non-public addresses (an endpoint inside your own network). */
  allowPrivateNetworks: boolean;
}

export const MAX_URL_LENGTH = 2048;

/**
 * Addresses that are not on the public internet. A tenant admin chooses the URL, so without this list a
 * webhook would be a way to make Roster send requests into its own network (cloud metadata at
 * 169.254.169.254, databases, admin consoles).
 */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is that IPv4 address. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return { address: mapped[1], family: 'ipv4' };
  const v = isIP(bare);
  return v === 4 ? { address: bare, family: 'ipv4' } : v === 6 ? { address: bare, family: 'ipv6' } : null;
}

const isLocalhostName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Whether Roster may connect to this resolved address for this URL's host. */
export function isAddressAllowed(address: string, policy: EndpointPolicy): boolean {
  const ip = normalise(address);
  if (!ip) return false;
  if (!NON_PUBLIC.check(ip.address, ip.family)) return true;
  if (policy.allowPrivateNetworks) return true;
  return policy.allowHttpLocalhost && LOOPBACK.check(ip.address, ip.family);
}

const refuse = (message: string) =>
  new DomainError(ErrorCode.INVALID_INPUT, `url: ${message}`, { field: 'url', reason: 'URL_NOT_ALLOWED' });

/**
 * Checks an endpoint URL: https (http only for localhost when allowed), no credentials or fragment, and
 * an address literal must be allowed. Host names are checked again when they resolve, at each delivery.
 */
export function checkEndpointUrl(raw: string, policy: EndpointPolicy): URL {
  if (raw.length > MAX_URL_LENGTH) throw refuse(`at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError(ErrorCode.INVALID_INPUT, 'url: not an absolute URL', { field: 'url', reason: 'URL_INVALID' });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const ip = normalise(host);
  const loopbackHost = isLocalhostName(host) || (ip !== null && LOOPBACK.check(ip.address, ip.family));
  if (url.protocol === 'http:') {
    if (!(policy.allowHttpLocalhost && loopbackHost)) {
      throw refuse(policy.allowHttpLocalhost ? 'must use https (http is accepted for localhost only)' : 'must use https');
    }
  } else if (url.protocol !== 'https:') {
    throw refuse('must use https');
  }
  if (url.username || url.password) throw refuse('must not contain credentials; authenticate the request with its signature');
  if (url.hash) throw refuse('must not contain a fragment');
  if (ip && !isAddressAllowed(ip.address, policy)) throw refuse('points to a private, loopback or reserved address');
  if (isLocalhostName(host) && !policy.allowHttpLocalhost && !policy.allowPrivateNetworks) throw refuse('points to localhost');
  return url;
}
