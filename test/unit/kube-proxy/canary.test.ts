import { describe, expect, it } from 'vitest';
import { CANARY_CHECKS, flushedTables, withCanaryChains } from '../../../src/plan/kube-proxy/canary.js';

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
