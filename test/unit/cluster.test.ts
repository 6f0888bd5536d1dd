import { describe, expect, it } from 'vitest';
import { allocate } from '../../src/cluster/ipam.js';
import { podTemplateHash } from '../../src/cluster/pods.js';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { parseTopology } from '../../src/topology/load.js';

const req = (key: string, node: string, want?: string, pinned = false) => ({ key, node, want, pinned });

describe('IPAM', () => {
  it('gives each node its own /26 block and pod addresses in order', () => {
    const r = allocate('10.244.0.0/16', 26, [req('a', 'n1'), req('b', 'n2'), req('c', 'n1')], new Map());
    expect(Object.fromEntries(r.addresses)).toEqual({ a: '10.244.0.0', b: '10.244.0.64', c: '10.244.0.1' });
    expect(Object.fromEntries(r.blocks)).toEqual({ n1: ['10.244.0.0/26'], n2: ['10.244.0.64/26'] });
  });

  it('takes another block when the node’s block is full', () => {
    const reqs = Array.from({ length: 5 }, (_, i) => req(`p${i}`, 'n1'));
    const r = allocate('10.0.0.0/24', 30, reqs, new Map());
    expect(r.blocks.get('n1')).toEqual(['10.0.0.0/30', '10.0.0.4/30']);
    expect(r.addresses.get('p4')).toBe('10.0.0.4');
  });

  it('borrows from another node’s block when no block is free', () => {
    const r = allocate('10.0.0.0/29', 30, [req('a', 'n1'), req('b', 'n2'), req('c', 'n3')], new Map());
    expect(r.failures).toEqual([]);
    expect(r.addresses.get('c')).toBe('10.0.0.1');
    expect(r.blocks.get('n3')).toBeUndefined();
  });

  it('honours pinned addresses and keeps remembered ones', () => {
    const r = allocate('10.244.0.0/16', 26, [req('a', 'n1'), req('b', 'n1', '10.244.0.0', true), req('c', 'n1', '10.244.0.5')], new Map([['n1', ['10.244.0.0/26']]]));
    expect(Object.fromEntries(r.addresses)).toEqual({ b: '10.244.0.0', c: '10.244.0.5', a: '10.244.0.1' });
  });

  it('reports a pinned address that is taken', () => {
    const r = allocate('10.244.0.0/16', 26, [req('a', 'n1', '10.244.0.7', true), req('b', 'n2', '10.244.0.7', true)], new Map());
    expect(r.failures).toEqual([{ key: 'b', reason: expect.stringMatching(/^requested pod IP 10\.244\.0\.7 .*is already assigned to pod a;/) }]);
  });

  it('a running pod keeps its address; a newcomer pinned to it is refused, naming both (Calico IPAM)', () => {
    const blocks = new Map([['n1', ['10.244.0.0/26']]]);
    const r = allocate('10.244.0.0/16', 26, [req('default/old', 'n1', '10.244.0.3'), req('default/new', 'n2', '10.244.0.3', true)], blocks);
    expect(r.addresses.get('default/old')).toBe('10.244.0.3');
    expect(r.addresses.has('default/new')).toBe(false);
    expect(r.failures).toEqual([{ key: 'default/new', reason: expect.stringContaining('10.244.0.3 (cni.projectcalico.org/ipAddrs) is already assigned to pod default/old') }]);
  });
});

describe('cluster state', () => {
  const file = (pods: string) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
  dns: {enabled: false}
  nodes: [{name: n1}, {name: n2, address: 192.168.50.9}]
  externalHosts: [{name: h}]
  workloads:
${pods}`;
  const pod = (n: string) => `    - {apiVersion: v1, kind: Pod, metadata: {name: ${n}}, spec: {containers: [{name: c, image: x}]}}`;

  it('addresses machines after the gateway, skipping pinned ones', async () => {
    const c = clusterFromTopology(await parseTopology(file(pod('a')), '/x/t.yaml'));
    expect(c.nodes.map((n) => n.ip)).toEqual(['192.168.50.2', '192.168.50.9']);
    expect(c.externalHosts[0]!.ip).toBe('192.168.50.3');
  });

  it('does not renumber pods that stay when another is removed', async () => {
    const on = (n: string, node: string) => pod(n).replace('spec: {', `spec: {nodeName: ${node}, `);
    const first = clusterFromTopology(await parseTopology(file([on('a', 'n1'), on('b', 'n2'), on('c', 'n1'), on('d', 'n2')].join('\n')), '/x/t.yaml'));
    const second = clusterFromTopology(await parseTopology(file([on('b', 'n2'), on('c', 'n1'), on('d', 'n2')].join('\n')), '/x/t.yaml'), first);
    const ipOf = (c: typeof first, n: string) => c.pods.find((p) => p.name === n)!.ip;
    for (const n of ['b', 'c', 'd']) expect(ipOf(second, n)).toBe(ipOf(first, n));
  });

  it('serves 8080 for a container that declares no port, once per pod', async () => {
    const c = clusterFromTopology(
      await parseTopology(file('    - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c1, image: x}, {name: c2, image: x}, {name: c3, image: x, ports: [{containerPort: 53, protocol: UDP}]}]}}'), '/x/t.yaml'),
    );
    expect(c.pods[0]!.containers.map((ct) => [ct.tcpPorts, ct.udpPorts])).toEqual([[[8080], []], [[], []], [[], [53]]]);
  });

  it('names Deployment pods <deployment>-<template hash>-<suffix>', async () => {
    const c = clusterFromTopology(
      await parseTopology(file('    - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}}'), '/x/t.yaml'),
    );
    expect(c.pods).toHaveLength(3);
    for (const p of c.pods) expect(p.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(new Set(c.pods.map((p) => p.nodeName))).toEqual(new Set(['n1', 'n2']));
  });

  it('hashes templates like the ReplicaSet controller encodes them (decimal digits mapped by code point)', () => {
    expect(podTemplateHash({})).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash({ metadata: { labels: { a: 'b' } } })).not.toBe(podTemplateHash({ metadata: { labels: { a: 'c' } } }));
  });
});
