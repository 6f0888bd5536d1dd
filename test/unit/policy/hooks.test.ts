import { describe, expect, it } from 'vitest';
import { hookLines, staleChains } from '../../../src/plan/policy/hooks.js';
import { FORWARD_APPEND } from '../../../src/plan/policy/render.js';

const tail = FORWARD_APPEND.map((r) => `-A FORWARD ${r}`);
const planned = new Set(['cali-FORWARD', 'cali-OUTPUT']);

describe('Felix hooks beside kube-proxy', () => {
  it('a node with everything in place gets no lines', () => {
    const builtin = ['-A FORWARD -j cali-FORWARD', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD', ...tail, '-A OUTPUT -j cali-OUTPUT', '-A OUTPUT -j KUBE-SERVICES'];
    expect(hookLines(builtin)).toEqual([]);
  });
  it('a fresh node gets the hooks inserted first and the accept rules appended', () => {
    expect(hookLines(['-A FORWARD -j KUBE-FORWARD'])).toEqual(['-I FORWARD 1 -j cali-FORWARD', '-I OUTPUT 1 -j cali-OUTPUT', ...tail]);
  });
  it('cali-FORWARD pushed below a kube-proxy jump moves back to the top; KUBE-* rules are left alone', () => {
    const builtin = ['-A FORWARD -j KUBE-PROXY-FIREWALL', '-A FORWARD -j cali-FORWARD', ...tail, '-A OUTPUT -j cali-OUTPUT'];
    const lines = hookLines(builtin);
    expect(lines).toEqual(['-D FORWARD -j cali-FORWARD', '-I FORWARD 1 -j cali-FORWARD']);
    expect(lines.some((l) => l.includes('KUBE-'))).toBe(false);
  });
  it('a kube-proxy rule appended after the accept rules puts them back at the end', () => {
    const builtin = ['-A FORWARD -j cali-FORWARD', ...tail, '-A FORWARD -j KUBE-FORWARD', '-A OUTPUT -j cali-OUTPUT'];
    expect(hookLines(builtin)).toEqual([...tail.map((l) => l.replace('-A ', '-D ')), ...tail]);
  });
  it('stale chains: cali-* chains the plan no longer declares, never kube-proxy chains', () => {
    expect(staleChains(['cali-FORWARD', 'cali-tw-caliold', 'KUBE-SVC-X'], planned)).toEqual(['cali-tw-caliold']);
  });
});
