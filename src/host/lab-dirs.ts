/**
 * The lab's folders on disk, checked before kemu reads, writes or removes anything in them. The name
 * was already refused unless it is a lab name (topology/names.ts labPaths); here no folder or file on
 * the way may be a symlink or of another type, so a planted link cannot send a root `rm -r` or a write
 * anywhere else. Folders kemu creates are 0700: records and logs are root's alone.
 */
import { chmod, lstat, mkdir, readdir, readlink, rm } from 'node:fs/promises';
import { RUN_ROOT, STATE_ROOT, labPaths, type LabPaths } from '../topology/names.js';

export class LabPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabPathError';
  }
}

type Want = 'dir' | 'file';

async function checkEntry(path: string, want: Want): Promise<boolean> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const ok = want === 'dir' ? st.isDirectory() : st.isFile();
  if (ok) return true;
  const what = st.isSymbolicLink() ? `a symlink (to ${await readlink(path).catch(() => '?')})` : `not a ${want === 'dir' ? 'folder' : 'regular file'}`;
  throw new LabPathError(
    `${path} is ${what}; kemu keeps lab files only in real folders under ${STATE_ROOT} and ${RUN_ROOT} and will not follow it. Remove it (rm ${path}) and run the command again`,
  );
}

/** The lab's paths, after checking that whatever of them exists is a real folder or file. */
export async function checkedLabPaths(lab: string): Promise<LabPaths> {
  const p = labPaths(lab);
  for (const dir of [STATE_ROOT, RUN_ROOT, p.stateDir, p.runDir, p.logsDir, p.birdDir, p.ingressDir, p.dnsDir, p.tmpDir]) await checkEntry(dir, 'dir');
  for (const file of [p.stateFile, p.stateBackup, p.lockFile]) await checkEntry(file, 'file');
  return p;
}

/** Create `dir` (one of the lab's folders, or a root) as a root-only folder, refusing links on the way. */
export async function makeLabDir(dir: string): Promise<void> {
  const root = dir.startsWith(`${STATE_ROOT}/`) || dir === STATE_ROOT ? STATE_ROOT : RUN_ROOT;
  if (!(dir === root || dir.startsWith(`${root}/`))) throw new LabPathError(`${dir} is outside kemu's folders`);
  const parts = dir.slice(root.length).split('/').filter(Boolean);
  let cur = root;
  for (const part of ['', ...parts]) {
    cur = part ? `${cur}/${part}` : cur;
    if (!(await checkEntry(cur, 'dir'))) {
      await mkdir(cur, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await checkEntry(cur, 'dir');
    }
    // Folders an older kemu made world-readable are closed too.
    await chmod(cur, 0o700);
  }
}

/** Remove the log and exit files of pods that are gone (`pod_<ns>_<name>_<container>.log` / `.exit`; names never hold '_'). */
export async function removePodLogs(lab: string, pods: Array<{ namespace: string; name: string }>): Promise<void> {
  if (pods.length === 0) return;
  const { logsDir } = await checkedLabPaths(lab);
  const prefixes = new Set(pods.map((p) => `pod_${p.namespace}_${p.name}_`));
  const files = await readdir(logsDir).catch(() => [] as string[]);
  await Promise.all(
    files.filter((f) => /\.(log|exit)$/.test(f) && prefixes.has(f.slice(0, f.lastIndexOf('_') + 1))).map((f) => rm(`${logsDir}/${f}`, { force: true })),
  );
  // Their resolv.conf and hosts (bound in mount namespaces that died with their holders).
  const { dnsDir } = await checkedLabPaths(lab);
  await Promise.all(pods.flatMap((p) => [`${p.namespace}_${p.name}`, `${p.namespace}_${p.name}.run`].map((d) => rm(`${dnsDir}/${d}`, { recursive: true, force: true }))));
}

/**
 * Temporary folders of commands that died (SIGKILL in the pods phase): every entry of the lab's tmp
 * folder, called under the lab lock (nothing else of the lab runs then), and the `/tmp/kemu-<lab>-XXXXXX`
 * folders older kemu versions made. Another lab's never match: the suffix has no '-'.
 */
export async function sweepLabTmp(lab: string, opts: { legacy?: boolean } = {}): Promise<number> {
  const { tmpDir } = await checkedLabPaths(lab);
  const ours = await readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(ours.map((f) => rm(`${tmpDir}/${f}`, { recursive: true, force: true })));
  let legacy: string[] = [];
  if (opts.legacy) {
    const re = new RegExp(`^kemu-${lab.replace(/[.]/g, '\\.')}-[A-Za-z0-9]{6}$`);
    legacy = (await readdir('/tmp').catch(() => [] as string[])).filter((f) => re.test(f));
    // lstat first: only real folders, never a planted link.
    for (const f of legacy) if ((await lstat(`/tmp/${f}`).catch(() => undefined))?.isDirectory()) await rm(`/tmp/${f}`, { recursive: true, force: true });
  }
  return ours.length + legacy.length;
}
