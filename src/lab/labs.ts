/** Which labs exist (recorded or only present as namespaces) and which one a command means. */
import { readdir, readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { RUN_ROOT, checkLabName, isLabName, labOfNetns, LabNameError } from '../topology/names.js';
import { printable } from '../util/printable.js';
import { listNetns } from '../host/netns.js';
import { listRecordedLabs, readRecord, type LabRecord } from './state.js';

/** Labs with a record, a run folder or a namespace on this machine (a crash can leave any of them alone). */
export async function knownLabs(): Promise<string[]> {
  const fromNetns = (await listNetns('kemu-')).map(labOfNetns).filter((l): l is string => !!l);
  const fromRun = (await readdir(RUN_ROOT).catch(() => [] as string[])).filter(isLabName);
  return [...new Set([...(await listRecordedLabs()), ...fromRun, ...fromNetns])].sort();
}

/**
 * A lab name, or the lab named in a topology file (read leniently, so `down` works on a broken file
 * too). Either way the result is a valid lab name, or this throws before anything is touched.
 */
export async function labFromArg(arg: string): Promise<string> {
  if (/\.ya?ml$/.test(arg) || arg.includes('/')) {
    const text = await readFile(arg, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${printable(arg)} (${err.code ?? err.message}); give a lab name or a topology file`);
    });
    let name: unknown;
    try {
      name = (parse(text) as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    } catch {
      name = undefined;
    }
    if (typeof name !== 'string') throw new Error(`${printable(arg)} has no metadata.name`);
    try {
      return checkLabName(name);
    } catch (err) {
      throw new Error(`${printable(arg)}: metadata.name ${(err as LabNameError).message}`);
    }
  }
  return checkLabName(arg);
}

/** The lab a command acts on: `--lab`, or the only one running. */
export async function selectLab(lab: string | undefined): Promise<LabRecord> {
  if (lab !== undefined) checkLabName(lab);
  const labs = await listRecordedLabs();
  const name = lab ?? (labs.length === 1 ? labs[0] : undefined);
  if (!name) throw new Error(labs.length === 0 ? 'no lab is running; start one with kemu up FILE' : `several labs are running (${labs.join(', ')}); choose one with --lab NAME`);
  const record = await readRecord(name);
  if (!record) throw new Error(`no lab named '${name}'${labs.length ? `; labs: ${labs.join(', ')}` : ''}`);
  return record;
}
