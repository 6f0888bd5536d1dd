/**
 * `spec.dns`: the cluster's DNS add-on as kubeadm installs it (cmd/kubeadm/app/phases/addons/dns),
 * as the topology's own workloads: Deployment `kube-system/coredns` (labels k8s-app=kube-dns, dnsPolicy
 * Default), whose CoreDNS image kemu runs as its own DNS server (cluster/programs.ts), and Service
 * `kube-system/kube-dns` at the 10th address of the service CIDR (53/UDP, 53/TCP, 9153/TCP metrics).
 * On unless `spec.dns.enabled: false`, as every cluster has it.
 */
import type { InputProblem } from './errors.js';
import type { Manifest } from './manifests.js';
import type { RawTopology } from './schema.js';
import type { DnsSpec, NetworkSpec } from './types.js';
import { intToIp, parseCidr } from '../util/ipv4.js';

export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3';
/** Cluster DNS runs unless the topology says `spec.dns.enabled: false`. */
export const DNS_ENABLED_BY_DEFAULT = true;
const LABELS = { 'k8s-app': 'kube-dns' };

/** The address at `offset` in the service CIDR (kubeadm GetIndexedIP). */
export const serviceIndexIP = (serviceCIDR: string, offset: number) => intToIp(parseCidr(serviceCIDR).base + offset);

/** The nameservers of a resolv.conf, loopback ones left out (from a pod's namespace they would be the pod itself). */
export function resolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*(?:[#;].*)?$/.exec(line);
    if (m && !m[1]!.startsWith('127.') && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out.slice(0, 3);
}

/** The resolved switch, or undefined when the lab runs no cluster DNS. `hostResolvConf` is the host's /etc/resolv.conf text. */
export function resolveDns(raw: RawTopology, network: NetworkSpec, hostResolvConf: string, problems: InputProblem[]): DnsSpec | undefined {
  const d = raw.spec.dns;
  if (!(d?.enabled ?? DNS_ENABLED_BY_DEFAULT)) return undefined;
  const cidr = parseCidr(network.serviceCIDR);
  if (cidr.size < 16) {
    problems.push({ path: 'spec.network.serviceCIDR', message: `${network.serviceCIDR} has no 10th address for kube-system/kube-dns; use a /28 or larger, or set spec.dns.enabled: false` });
    return undefined;
  }
  const given = d?.upstream;
  return {
    clusterIP: serviceIndexIP(network.serviceCIDR, 10),
    clusterDomain: d?.clusterDomain ?? 'cluster.local',
    upstreams: given ?? resolvConfNameservers(hostResolvConf),
    upstreamFrom: given ? 'topology' : 'host',
    replicas: d?.replicas ?? 1,
  };
}

export function clusterDnsManifests(spec: DnsSpec, network: NetworkSpec): Manifest[] {
  const origin = 'spec.dns';
  const ports = [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
  ];
  return [
    {
      kind: 'Deployment',
      origin,
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', namespace: 'kube-system', labels: LABELS },
        spec: {
          replicas: spec.replicas,
          selector: { matchLabels: LABELS },
          template: {
            metadata: { labels: LABELS },
            spec: {
              dnsPolicy: 'Default',
              containers: [{ name: 'coredns', image: COREDNS_IMAGE, args: ['-conf', '/etc/coredns/Corefile'], ports, resources: { requests: { cpu: '100m', memory: '70Mi' } } }],
            },
          },
        },
      },
    },
    {
      kind: 'Service',
      origin,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...LABELS, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }, annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' } },
        spec: {
          clusterIP: spec.clusterIP,
          selector: LABELS,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
            { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
          ],
        },
      },
    },
  ] as Manifest[];
}

/**
 * `default/kubernetes` at the first address of the service CIDR, in every lab as in every cluster (the
 * API server's own Service, so no user Service is handed that address). kemu has no API server: the
 * Service has no endpoints and kube-proxy rejects connections to it.
 */
export function apiServerServiceManifest(network: NetworkSpec): Manifest {
  return {
    kind: 'Service',
    origin: 'apiserver',
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: serviceIndexIP(network.serviceCIDR, 1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    },
  } as Manifest;
}
