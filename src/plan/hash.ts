import { createHash } from 'node:crypto';
import { stableJson } from '../util/stable-json.js';

/** A short content hash of plan data: equal plans, equal hashes. */
export function planHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);
}
