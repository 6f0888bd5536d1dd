import { describe, expect, it } from 'vitest';
import { entryHashes, serviceChainsOnly } from '../../../src/plan/kube-proxy/service-entries.js';

const payload = (dport: number) => `*filter
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/b:p has no endpoints" -m tcp -p tcp -d 10.96.0.2 --dport 80 -j REJECT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SVC-AAAA - [0:0]
:KUBE-SEP-OLD - [0:0]
-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport ${dport} -j KUBE-SVC-AAAA
-A KUBE-NODEPORTS -m comment --comment ns/a:p -m tcp -p tcp --dport 30080 -j KUBE-EXT-AAAA
-A KUBE-SVC-AAAA -m comment --comment "ns/a:p -> 10.0.0.1:80" -j KUBE-SEP-NEW
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-X KUBE-SEP-OLD
COMMIT
`;

describe('service entries', () => {
  it('hash each service port’s rules in top-level chains, in both tables', () => {
    const a = entryHashes(payload(80), ['ns/a:p', 'ns/b:p']);
    const b = entryHashes(payload(81), ['ns/a:p', 'ns/b:p']);
    expect(a['ns/b:p']).toBe(b['ns/b:p']);
    expect(a['ns/a:p']).not.toBe(b['ns/a:p']);
    // A change inside the service's own chain does not touch its entries.
    expect(entryHashes(payload(80).replace('10.0.0.1:80', '10.0.0.9:80'), ['ns/a:p'])['ns/a:p']).toBe(a['ns/a:p']);
  });

  it('keep only per-service chains and -X lines, dropping tables left empty', () => {
    expect(serviceChainsOnly(payload(80))).toBe(
      '*nat\n:KUBE-SVC-AAAA - [0:0]\n:KUBE-SEP-OLD - [0:0]\n-A KUBE-SVC-AAAA -m comment --comment "ns/a:p -> 10.0.0.1:80" -j KUBE-SEP-NEW\n-X KUBE-SEP-OLD\nCOMMIT\n',
    );
  });
});
