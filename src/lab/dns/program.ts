/**
 * The `coredns` container program: kemu's own DNS server (`kemu dns-server`, src/lab/dns/server.ts) in
 * the coredns pod's namespaces, answering from the lab's records file, forwarding other names to the
 * topology's upstreams (CoreDNS `forward .` with dnsPolicy Default), with Prometheus text on :9153.
 */
import type { ProgramRunner } from '../programs.js';
import { dnsRecordsFile, labPaths, podEtcDir } from '../../topology/names.js';
import { makeLabDir } from '../../host/lab-dirs.js';
import { syncDnsRecords } from './sync.js';
import { serviceEndpoints } from '../../cluster/endpoint-slices/views.js';

export const coredns: ProgramRunner = {
  comm: 'node',
  async prepare({ lab, pod, container, record }) {
    await makeLabDir(labPaths(lab).dnsDir);
    // Answers from the first query: the records as the store has them now (the pass's sync follows).
    await syncDnsRecords(record.cluster, serviceEndpoints(record.cluster, record.store));
    const dir = `${podEtcDir(lab, pod.namespace, pod.name)}.run`;
    await makeLabDir(dir);
    const ready = `${dir}/${container.name}.ready`;
    const upstreams = record.cluster.dns?.upstreams ?? [];
    return {
      argv: [process.execPath, '--max-semi-space-size=1', '--max-old-space-size=64', process.argv[1]!, 'dns-server', '--records', dnsRecordsFile(lab), '--listen', '0.0.0.0', '--port', '53', '--metrics', '9153', ...(upstreams.length ? ['--upstream', ...upstreams] : []), '--ready', ready],
      readyFile: ready,
    };
  },
};
