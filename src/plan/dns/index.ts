export * from './types.js';
export { clusterRecords, serviceRecords, podRecords, reverseName, endpointLabel, SCHEMA_VERSION, DEFAULT_CLUSTER_DOMAIN } from './records.js';
export { DnsZone } from './lookup.js';
export { zoneFile, recordLine, RECORD_TTL } from './zone-file.js';
export { podResolverConfig, resolvConf, parseResolvConf, podHostsFile } from './pod-files.js';
export type { DnsPolicy, ResolverConfig, PodDnsConfig, PodDnsInput, PodHostsInput } from './pod-files.js';
export { dnsServices, dnsPods } from './from-cluster.js';
