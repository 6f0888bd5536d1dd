/** Which labs exist (recorded or only present as namespaces) and which one a command means. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { labOfNetns } from '../topology/names.js';
import { listNetns } from '../host/netns.js';
import { listRecordedLabs, readRecord, type LabRecord } from './state.js';

export async function knownLabs(): Promise<string[]> {
  const fromNetns = (await listNetns('kemu-')).map(labOfNetns).filter((l): l is string => !!l);
  return [...new Set([...(await listRecordedLabs()), ...fromNetns])].sort();
}

/** A lab name, or the lab named in a topology file (read leniently, so `down` works on a broken file too). */
export async function labFromArg(arg: string): Promise<string> {
  if (/\.ya?ml$/.test(arg) || arg.includes('/')) {
    const text = await readFile(arg, 'utf8').catch(() => undefined);
    if (text === undefined) throw new Error(`cannot read ${arg}`);
    const name = (parse(text) as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name !== 'string') throw new Error(`${arg} has no metadata.name`);
    return name;
  }
  return arg;
}

/** The lab a command acts on: `--lab`, or the only one running. */
export async function selectLab(lab: string | undefined): Promise<LabRecord> {
  const labs = await listRecordedLabs();
  const name = lab ?? (labs.length === 1 ? labs[0] : undefined);
  if (!name) throw new Error(labs.length === 0 ? 'no lab is running; start one with kemu up FILE' : `several labs are running (${labs.join(', ')}); choose one with --lab NAME`);
  const record = await readRecord(name);
  if (!record) throw new Error(`no lab named '${name}'${labs.length ? `; labs: ${labs.join(', ')}` : ''}`);
  return record;
}
