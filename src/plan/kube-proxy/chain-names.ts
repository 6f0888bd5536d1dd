/**
 * kube-proxy's iptables chain names: prefix + the first 16 characters of the RFC 4648 base32
 * encoding (upper case, A–Z2–7) of sha256 over the service-port name, lower-case protocol and,
 * for endpoint chains, the endpoint "ip:port", concatenated without separators.
 */
import { createHash } from 'node:crypto';
import { servicePortKey, type Protocol } from './types.js';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with padding, as Go's base32.StdEncoding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

const hashes = new Map<string, string>();

/** base32(sha256(text))[:16], remembered: every node's sync names the same chains. */
export function hash16(text: string): string {
  let h = hashes.get(text);
  if (h === undefined) {
    h = base32(createHash('sha256').update(text).digest()).slice(0, 16);
    hashes.set(text, h);
  }
  return h;
}

type PortRef = { namespace: string; name: string; portName: string; protocol: Protocol };

const portProtoHash = (sp: PortRef): string => hash16(servicePortKey(sp) + sp.protocol.toLowerCase());

/** KUBE-SVC-…: the Cluster-policy endpoint chain. */
export const servicePortChainName = (sp: PortRef): string => `KUBE-SVC-${portProtoHash(sp)}`;
/** KUBE-SVL-…: the Local-policy endpoint chain. */
export const serviceLocalChainName = (sp: PortRef): string => `KUBE-SVL-${portProtoHash(sp)}`;
/** KUBE-EXT-…: the external-traffic chain (NodePort, externalIP, LB IP). */
export const serviceExternalChainName = (sp: PortRef): string => `KUBE-EXT-${portProtoHash(sp)}`;
/** KUBE-FW-…: the loadBalancerSourceRanges firewall chain. */
export const serviceFirewallChainName = (sp: PortRef): string => `KUBE-FW-${portProtoHash(sp)}`;

/** Go's net.JoinHostPort: IPv6 hosts are bracketed. */
export const joinHostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** KUBE-SEP-…: one endpoint of one service port. */
export function endpointChainName(sp: PortRef, ep: { ip: string; port: number }): string {
  return `KUBE-SEP-${hash16(servicePortKey(sp) + sp.protocol.toLowerCase() + joinHostPort(ep.ip, ep.port))}`;
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

/** kube-proxy's isServiceChainName: per-service nat chains that the stale-chain sweep may delete. */
export const isServiceChainName = (chain: string): boolean => SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
