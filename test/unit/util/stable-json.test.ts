import { describe, expect, it } from 'vitest';
import { sameJson, stableJson } from '../../../src/util/stable-json.js';

// sameJson must agree with comparing stableJson texts, which it replaces where only equality matters.
const values: unknown[] = [
  0,
  1,
  '1',
  null,
  true,
  [],
  {},
  [1, 2],
  [2, 1],
  { a: 1, b: 2 },
  { b: 2, a: 1 },
  { a: 1, b: undefined },
  { a: 1 },
  { a: [1, { c: 'x', d: [] }] },
  { a: [1, { d: [], c: 'x' }] },
  { a: [1, { c: 'y', d: [] }] },
  { a: {} },
  { a: [] },
  [{ ip: '10.0.0.1', ready: true }, { ip: '10.0.0.2' }],
  [{ ready: true, ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
];

describe('sameJson', () => {
  it('is true exactly when the stableJson texts are equal', () => {
    for (const a of values) for (const b of values) expect(sameJson(a, b), `${stableJson(a)} vs ${stableJson(b)}`).toBe(stableJson(a) === stableJson(b));
  });
});
