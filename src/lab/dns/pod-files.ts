/**
 * The kubelet's part for cluster DNS: each pod's resolv.conf and hosts (planned in plan/pods.ts) written
 * to the pod's folder before its sandbox starts; the holder binds them over /etc in its own mount
 * namespace (native/kemu-sandbox --etc). Written once per sandbox, as the kubelet writes them once.
 */
import { rm, writeFile } from 'node:fs/promises';
import type { PodPlan } from '../../plan/types.js';
import { labPaths, podEtcDir } from '../../topology/names.js';
import { makeLabDir } from '../../host/lab-dirs.js';

/** pod key → the folder its holder binds from, for the pods that get files. */
export async function writePodEtcFiles(lab: string, pods: PodPlan[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const asking = pods.filter((p) => p.etc);
  if (asking.length === 0) return out;
  await makeLabDir(labPaths(lab).dnsDir);
  await Promise.all(
    asking.map(async (p) => {
      const dir = podEtcDir(lab, p.namespace, p.name);
      // A rebuilt sandbox starts from a fresh folder: no file of an earlier plan is bound.
      await rm(dir, { recursive: true, force: true });
      await makeLabDir(dir);
      for (const [name, text] of Object.entries(p.etc!)) await writeFile(`${dir}/${name}`, text, { mode: 0o644 });
      out.set(p.key, dir);
    }),
  );
  return out;
}
