import { describe, expect, it } from 'vitest';
import { CANARY_CHECKS, changedChains, countRulesWritten, flushedTables, withCanaryChains } from '../../../src/plan/kube-proxy/canary.js';

const healthy = [
  { ok: true, text: '-N KUBE-PROXY-CANARY\n' },
  { ok: true, text: '-P OUTPUT ACCEPT\n-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n' },
  { ok: true, text: '-P OUTPUT ACCEPT\n-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n-A OUTPUT -j KUBE-FIREWALL\n' },
];

describe('kube-proxy canary checks', () => {
  it('one listing per table, in mangle, nat, filter order', () => {
    expect(CANARY_CHECKS.map((c) => `${c.table}/${c.chain}`)).toEqual(['mangle/KUBE-PROXY-CANARY', 'nat/OUTPUT', 'filter/OUTPUT']);
  });
  it('healthy tables are not flushed', () => {
    expect(flushedTables(healthy)).toEqual([]);
  });
  it('`iptables -t nat -F` leaves OUTPUT without its jump: nat is flushed', () => {
    expect(flushedTables([healthy[0]!, { ok: true, text: '-P OUTPUT ACCEPT\n' }, healthy[2]!])).toEqual(['nat']);
  });
  it('a deleted canary (the listing fails) and a missing listing count as flushed', () => {
    expect(flushedTables([{ ok: false, text: "iptables: chain `KUBE-PROXY-CANARY' ... incompatible" }, healthy[1]!])).toEqual(['mangle', 'filter']);
  });
  it('a jump to another chain does not count', () => {
    expect(flushedTables([healthy[0]!, { ok: true, text: '-A OUTPUT -j KUBE-SERVICES-OLD\n' }, healthy[2]!])).toEqual(['nat']);
  });
});

describe('withCanaryChains', () => {
  it('declares the canary in nat and filter and adds a mangle section', () => {
    const out = withCanaryChains('*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n');
    expect(out).toBe('*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n*filter\n:KUBE-PROXY-CANARY - [0:0]\n:KUBE-FORWARD - [0:0]\nCOMMIT\n*nat\n:KUBE-PROXY-CANARY - [0:0]\n:KUBE-SERVICES - [0:0]\nCOMMIT\n');
  });
});

describe('rule counts', () => {
  it('counts the rules of declared user chains; a deleted chain goes; built-in chains are not counted', () => {
    const payload = '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-OLD - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-A\n-A KUBE-SVC-A -j KUBE-SEP-B\n-A KUBE-SVC-A -j KUBE-SEP-C\n-X KUBE-SEP-OLD\n-I OUTPUT 1 -j KUBE-SERVICES\nCOMMIT\n';
    expect(countRulesWritten(payload, { 'nat/KUBE-SEP-OLD': 2, 'nat/KUBE-SEP-B': 1 })).toEqual({ 'nat/KUBE-SERVICES': 1, 'nat/KUBE-SVC-A': 2, 'nat/KUBE-SEP-B': 1 });
  });
  it('a chain flushed or deleted in the kernel differs from what was written', () => {
    expect(changedChains({ 'nat/A': 2, 'nat/B': 0, 'nat/C': 1 }, { 'nat/A': 0, 'nat/B': 0 })).toEqual(['nat/A', 'nat/C']);
  });
});
