/**
 * Inputs and outputs of the cluster DNS record planner (kubernetes/dns docs/specification.md,
 * schema 1.1.0). Pure data: the zone a lab's DNS server answers from.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface DnsServicePort {
  /** '' for an unnamed port: it gets no SRV record. */
  name: string;
  protocol: Protocol;
  port: number;
}

/** One endpoint of a headless Service (from its EndpointSlices). */
export interface DnsEndpoint {
  ip: string;
  /** endpoints[].hostname: set for a pod whose spec.subdomain names the Service (StatefulSet pods). */
  hostname?: string;
  ready: boolean;
}

export interface DnsService {
  namespace: string;
  name: string;
  /** A ClusterIP Service's address; absent or 'None' for a headless one. */
  clusterIP?: string;
  /** spec.externalName of a type ExternalName Service (then clusterIP is ignored). */
  externalName?: string;
  ports: DnsServicePort[];
  /** Headless only: not-ready endpoints get records too. */
  publishNotReadyAddresses: boolean;
  endpoints: DnsEndpoint[];
}

export interface DnsPod {
  namespace: string;
  ip: string;
}

export type DnsRecord =
  | { name: string; type: 'A'; ip: string }
  | { name: string; type: 'CNAME'; target: string }
  | { name: string; type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { name: string; type: 'PTR'; target: string }
  | { name: string; type: 'TXT'; text: string };

export type RecordType = DnsRecord['type'];

/** The answer to one question: NXDOMAIN when no record sits at or below the name, else NOERROR (empty: NODATA). */
export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED';
  answers: DnsRecord[];
}
