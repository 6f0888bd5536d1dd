/** Bad input through the real CLI: a clear error naming the field, exit 2, and nothing created. */
import { describe, expect, it } from 'vitest';
import { BAD_INPUTS } from '../helpers/bad-inputs.js';
import { NOTHING_LEFT, kemu, leftovers, writeTopology } from '../helpers/kemu.js';

describe('kemu up with bad input', () => {
  for (const bad of BAD_INPUTS) {
    it(`${bad.name}: names ${bad.path || 'the problem'} and creates nothing`, async () => {
      const r = await kemu('up', writeTopology(bad.lab, undefined, bad.text));
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('nothing was changed');
      expect(r.stderr).toContain(bad.path);
      expect(r.stderr).toMatch(bad.message);
      expect(await leftovers(bad.lab)).toEqual(NOTHING_LEFT);
    });
  }

  it('a missing topology file is an error too', async () => {
    const r = await kemu('up', '/nonexistent/kt-missing.yaml');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('cannot read the topology file: ENOENT');
  });
});
