/**
 * kemu runs as root: a lab name must never turn into a path outside /var/lib/kemu and /run/kemu.
 * Every entry point gets names that are not lab names (`..`, `.`, `a/b`, `../../x`, an absolute path)
 * and a lab whose state folder is a symlink: each is refused with a clear error and a non-zero exit,
 * and the victim folders beside them keep every file.
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOTHING_LEFT, kemu, leftovers, writeTopology } from '../helpers/kemu.js';

const victim = mkdtempSync(join(tmpdir(), 'kt-victim-'));
writeFileSync(join(victim, 'precious.txt'), 'keep me');
const victimIntact = () => expect(readdirSync(victim)).toEqual(['precious.txt']);

const BAD_NAMES = ['..', '.', 'a/b', '../../x', victim, '../../../tmp/victim', 'new\nline'];

const topology = (name: string) => ({
  apiVersion: 'kemu.dev/v1alpha1',
  kind: 'Topology',
  metadata: { name },
  spec: { nodes: [{ name: 'n1' }] },
});

const SYMLINKED = 'kt-paths-symlinked';
const links = [`/var/lib/kemu/${SYMLINKED}`, `/run/kemu/${SYMLINKED}`];

afterAll(() => {
  for (const l of links) if (existsSync(l) && lstatSync(l).isSymbolicLink()) rmSync(l);
  rmSync(victim, { recursive: true, force: true });
});

describe('names that are not lab names are refused everywhere', () => {
  for (const name of BAD_NAMES) {
    const shown = JSON.stringify(name);
    it(`down ${shown}`, async () => {
      const r = await kemu('down', name);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/not a lab name|cannot read|has no metadata\.name/);
      victimIntact();
    });
    it(`--lab ${shown} on get, describe, apply, delete, scale, exec, curl, bgp, routes`, async () => {
      const runs = [
        ['get', 'pods', '--lab', name],
        ['describe', 'pod', 'x', '--lab', name],
        ['apply', '-f', join(victim, 'precious.txt'), '--lab', name],
        ['delete', 'pod', 'x', '--lab', name],
        ['scale', 'deployment', 'x', '--replicas', '1', '--lab', name],
        ['exec', '--lab', name, 'x', '--', 'true'],
        ['curl', '--lab', name, 'x', 'http://127.0.0.1/'],
        ['bgp', '--lab', name],
        ['routes', 'n1', '--lab', name],
      ];
      const results = await Promise.all(runs.map((args) => kemu(...args)));
      results.forEach((r, i) => {
        expect(r.exitCode, runs[i]!.join(' ')).not.toBe(0);
        // apply reads its manifests first; either way nothing reaches a path
        expect(r.stderr, runs[i]!.join(' ')).toMatch(/not a lab name|invalid input/);
      });
      victimIntact();
    });
    it(`supervise ${shown}`, async () => {
      const r = await kemu('supervise', name);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('not a lab name');
      victimIntact();
    });
    it(`up and down of a topology named ${shown}`, async () => {
      const file = writeTopology('kt-paths', topology(name));
      const up = await kemu('up', file);
      expect(up.exitCode).toBe(2);
      expect(up.stderr).toContain('metadata.name');
      const down = await kemu('down', file);
      expect(down.exitCode).not.toBe(0);
      expect(down.stderr).toMatch(/metadata\.name .*not a lab name/);
      victimIntact();
    });
  }
  it('a newline in a name is shown escaped, never as a line of its own', async () => {
    const r = await kemu('down', 'evil\nkemu: lab x removed');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('kemu: lab x removed'))).toEqual([]);
    expect(r.stderr).toContain('evil\\nkemu: lab x removed');
  });
});

describe('a lab whose folders are symlinks is refused', () => {
  for (const link of links) {
    it(`${link} → a victim folder`, async () => {
      symlinkSync(victim, link);
      try {
        const file = writeTopology(SYMLINKED, topology(SYMLINKED));
        for (const args of [['down', SYMLINKED], ['down', file], ['up', file], ['get', 'pods', '--lab', SYMLINKED], ['supervise', SYMLINKED]]) {
          const r = await kemu(...args);
          expect(r.exitCode, args.join(' ')).not.toBe(0);
          expect(r.stderr, args.join(' ')).toContain(`${link} is a symlink (to ${victim})`);
        }
        const ls = await kemu('ls');
        expect(ls.exitCode).not.toBe(0);
        expect(ls.stderr).toContain(`${link} is a symlink`);
        victimIntact();
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        const left = await leftovers(SYMLINKED);
        expect({ ...left, files: [], state: [] }).toEqual(NOTHING_LEFT);
      } finally {
        rmSync(link);
      }
    });
  }
});
