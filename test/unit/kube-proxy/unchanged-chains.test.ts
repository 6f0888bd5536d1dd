import { describe, expect, it } from 'vitest';
import { dropUnchangedChains } from '../../../src/plan/kube-proxy/unchanged-chains.js';

const payload = (svcTarget: string) => `*filter
:KUBE-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
-A KUBE-FORWARD -j ACCEPT
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAA - [0:0]
:KUBE-SEP-OLD - [0:0]
-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-AAAA
-A KUBE-SVC-AAAA -j ${svcTarget}
-X KUBE-SEP-OLD
COMMIT
`;

describe('dropUnchangedChains', () => {
  it('keeps everything the first time', () => {
    const r = dropUnchangedChains(payload('KUBE-SEP-NEW'), undefined);
    expect(r.payload).toBe(payload('KUBE-SEP-NEW'));
    expect(Object.keys(r.hashes).sort()).toEqual(['filter/KUBE-FORWARD', 'filter/KUBE-SERVICES', 'nat/KUBE-SERVICES']);
  });

  it('drops top-level chains whose rules did not change, never service chains or -X lines', () => {
    const first = dropUnchangedChains(payload('KUBE-SEP-NEW'), undefined);
    const r = dropUnchangedChains(payload('KUBE-SEP-NEW'), first.hashes);
    expect(r.payload).toBe('*filter\nCOMMIT\n*nat\n:KUBE-SVC-AAAA - [0:0]\n:KUBE-SEP-OLD - [0:0]\n-A KUBE-SVC-AAAA -j KUBE-SEP-NEW\n-X KUBE-SEP-OLD\nCOMMIT\n');
    expect(r.skipped).toBe(5);
  });

  it('keeps a top-level chain whose rules changed', () => {
    const first = dropUnchangedChains(payload('KUBE-SEP-NEW'), undefined);
    const changed = payload('KUBE-SEP-NEW').replace('-d 10.96.0.1/32', '-d 10.96.0.2/32');
    expect(dropUnchangedChains(changed, first.hashes).payload).toContain('-A KUBE-SERVICES -d 10.96.0.2/32 -j KUBE-SVC-AAAA');
  });
});
