import { describe, expect, it } from 'vitest';
import { renderNatOutgoing } from '../../src/plan/nat-outgoing.js';

describe('natOutgoing', () => {
  it('masquerades pool traffic to outside the pool when enabled', () => {
    expect(renderNatOutgoing('10.244.0.0/16', true).payload).toContain('-A cali-nat-outgoing -s 10.244.0.0/16 ! -d 10.244.0.0/16 -m comment --comment "cali:natOutgoing" -j MASQUERADE --random-fully');
  });
  it('keeps the chains but no rule when disabled', () => {
    const { payload } = renderNatOutgoing('10.244.0.0/16', false);
    expect(payload).toContain(':cali-nat-outgoing - [0:0]');
    expect(payload).not.toContain('MASQUERADE');
  });
});
