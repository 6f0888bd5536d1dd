import { createHash } from 'node:crypto';
import { stableJson } from '../cluster/pods.js';

/** A short content hash of plan data: equal plans, equal hashes. */
export function planHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}
