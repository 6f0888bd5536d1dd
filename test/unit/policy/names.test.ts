import { describe, expect, it } from 'vitest';
import { lengthLimitedId, policyChain, profileChain, selectorIpset, toWorkloadChain } from '../../../src/plan/policy/names.js';

describe('Felix names', () => {
  it('length-limited ids match libcalico-go unique_id_test vectors', () => {
    expect(lengthLimitedId('felix', '1234', 10)).toBe('felix1234');
    expect(lengthLimitedId('felix', '_2345', 10)).toBe('felix_kMQI');
    expect(lengthLimitedId('felix', '12345678910', 13)).toBe('felix_Y2QCZIS');
  });
  it('policy and profile chains as in policy_test.go', () => {
    // v3.32+ ids are <kind>/[<ns>/]<name>: a GlobalNetworkPolicy is gnp/<name>.
    expect(lengthLimitedId('cali-pi-', 'gnp/long-policy-name-that-gets-hashed', 28)).toBe('cali-pi-_PymyFHQQg3808jiz1OJ');
    expect(profileChain('in', 'long-policy-name-that-gets-hashed')).toBe('cali-pri-_ffOMcf6pikpiZ6hgKc');
    expect(policyChain('in', 'x', 'web')).toBe('cali-pi-knp/x/web');
    expect(policyChain('out', 'x', 'a-rather-long-policy-name')).toMatch(/^cali-po-_[A-Za-z0-9_-]{19}$/);
    expect(profileChain('out', 'kns.x')).toBe('cali-pro-kns.x');
    expect(toWorkloadChain('cali1a2b3c4d5e6')).toBe('cali-tw-cali1a2b3c4d5e6');
  });
  it('selector ipsets are cali40s: + 23 characters', () => {
    expect(selectorIpset("pcns.ns == 'y'")).toMatch(/^cali40s:[A-Za-z0-9_-]{23}$/);
  });
});
