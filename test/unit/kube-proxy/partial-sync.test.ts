import { describe, expect, it } from 'vitest';
import { endpointChainName } from '../../../src/plan/kube-proxy/chain-names.js';
import { renderProxyRules } from '../../../src/plan/kube-proxy/render.js';
import type { ProxyServicePort, RenderOptions } from '../../../src/plan/kube-proxy/types.js';
import { NODE, ep, parseRestore, rulesOf, svc } from './helpers.js';

const svc1 = svc('ns1', 'svc1', { clusterIP: '172.30.0.41', endpoints: [ep('10.180.0.1')] });
const svc2 = svc('ns2', 'svc2', { portName: 'p8080', clusterIP: '172.30.0.42', port: 8080, endpoints: [ep('10.180.0.2', { port: 8080 })] });
const svc3 = svc('ns3', 'svc3', { clusterIP: '172.30.0.43', nodePort: 30003, endpoints: [ep('10.180.0.3')] });
const all = [svc1, svc2, svc3];

const sync = (services: ProxyServicePort[], opts: RenderOptions = {}) => {
  const result = renderProxyRules(NODE, services, opts);
  const t = parseRestore(result.payload);
  return { result, filter: t.filter!, nat: t.nat! };
};
const full = sync(all);
const live = { nat: full.result.natChains, filter: full.result.filterChains };
const TOP = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];

describe('partial sync', () => {
  it('with nothing changed writes only the top-level chains and the whole filter table', () => {
    const { nat, filter, result } = sync(all, { changed: new Set(), previousChains: live });
    expect(nat.chains).toEqual(TOP);
    expect(nat.deleted).toEqual([]);
    expect(rulesOf(nat, 'KUBE-SERVICES')).toEqual(rulesOf(full.nat, 'KUBE-SERVICES'));
    expect(rulesOf(nat, 'KUBE-NODEPORTS')).toEqual(rulesOf(full.nat, 'KUBE-NODEPORTS'));
    expect(filter).toEqual(full.filter);
    expect(result.writtenServices).toEqual([]);
    // Every per-service rule of the full sync was computed and counted, not written.
    const perService = full.nat.rules.filter((r) => /^-A KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(r));
    expect(perService).toHaveLength(14); // svc1 4, svc2 4, svc3 6 (with KUBE-EXT)
    expect(result.lineCounts).toEqual({ filterRules: 4, natRules: full.result.lineCounts.natRules - 14, natChainsWritten: 4, skippedRules: 14 });
    expect(result.natChains).toEqual(full.result.natChains);
  });

  it('rewrites only the chains of changed services (by port key or by service name)', () => {
    const byPort = sync(all, { changed: new Set(['ns2/svc2:p8080']), previousChains: live });
    expect(byPort.nat.chains).toEqual([...TOP, 'KUBE-SVC-2VJB64SDSIJUP5T6', endpointChainName(svc2, svc2.endpoints[0]!)]);
    expect(byPort.result.writtenServices).toEqual(['ns2/svc2:p8080']);
    expect(byPort.result.lineCounts.skippedRules).toBe(10);
    const byName = sync(all, { changed: new Set(['ns3/svc3']), previousChains: live });
    expect(byName.result.writtenServices).toEqual(['ns3/svc3:p80']);
    expect(byName.nat.chains.filter((c) => !TOP.includes(c))).toHaveLength(3);
  });

  it('deletes the old KUBE-SEP when an endpoint changes, after declaring (flushing) it', () => {
    const moved = { ...svc1, endpoints: [ep('10.180.0.9')] };
    const { nat, result } = sync([moved, svc2, svc3], { changed: new Set(['ns1/svc1:p80']), previousChains: live });
    const oldSep = 'KUBE-SEP-SXIVWICOYRO3J4NJ';
    const newSep = endpointChainName(moved, { ip: '10.180.0.9', port: 80 });
    expect(nat.chains).toEqual([...TOP, 'KUBE-SVC-XPGD46QRK7WJZT7O', newSep, oldSep]);
    expect(nat.deleted).toEqual([oldSep]);
    expect(result.payload).toContain(`:${oldSep} - [0:0]\n`);
    expect(result.payload).toMatch(new RegExp(`\\n-X ${oldSep}\\n-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports`));
    expect(result.natChains).not.toContain(oldSep);
    expect(result.lineCounts.natRules).toBe(full.result.lineCounts.natRules - 10);
  });

  it('deletes every chain of a removed service, and nothing that is not a per-service chain', () => {
    const previous = { nat: [...live.nat, 'KUBE-MARK-DROP', 'KUBE-KUBELET-CANARY', 'KEMU-SOMETHING'], filter: live.filter };
    const { nat, result } = sync([svc1, svc3], { changed: new Set(['ns2/svc2:p8080']), previousChains: previous });
    const gone = [endpointChainName(svc2, svc2.endpoints[0]!), 'KUBE-SVC-2VJB64SDSIJUP5T6'].sort();
    expect(nat.deleted).toEqual(gone);
    expect(nat.chains).toEqual([...TOP, ...gone]);
    expect(result.writtenServices).toEqual([]);
    expect(rulesOf(nat, 'KUBE-SERVICES').some((r) => r.includes('ns2/svc2'))).toBe(false);
  });

  it('a full sync also sweeps stale chains', () => {
    const { nat } = sync([svc1], { previousChains: live });
    expect(nat.deleted).toHaveLength(5);
    expect(nat.chains).toHaveLength(4 + 2 + 5);
  });

  it('rewrites an unchanged service whose chains are missing from the live table', () => {
    const previous = { nat: live.nat.filter((c) => c !== 'KUBE-SVC-XPGD46QRK7WJZT7O'), filter: live.filter };
    const { result } = sync(all, { changed: new Set(), previousChains: previous });
    expect(result.writtenServices).toEqual(['ns1/svc1:p80']);
    expect(result.payload).toContain(':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]\n');
  });

  it('the skipped count equals what a full sync writes for the unchanged services', () => {
    const partial = sync(all, { changed: new Set(['ns1/svc1:p80']), previousChains: live });
    const written = partial.nat.rules.filter((r) => /^-A KUBE-(SVC|SEP)-/.test(r)).length;
    expect(written + partial.result.lineCounts.skippedRules).toBe(14);
    expect(partial.result.lineCounts.natRules + partial.result.lineCounts.skippedRules).toBe(full.result.lineCounts.natRules);
  });
});
