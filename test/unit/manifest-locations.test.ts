/** Problems in a manifest file name that file, with the line and column of the field (issue 9 §2). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, type InputProblem } from '../../src/topology/errors.js';
import { fieldParts } from '../../src/topology/locate.js';
import { parseManifests } from '../../src/topology/manifests.js';
import { parseTopology } from '../../src/topology/load.js';

const WEB = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: a, port: 80}
  - {name: a, port: 81}
---
apiVersion: v1
kind: Pod
metadata:
  name: "bad\\nname"
  annotations:
    kubernetes.io/egress-bandwidth: 1M
spec:
  containers: [{name: c, image: x}]
`;

describe('problem locations', () => {
  it('splits field paths, quoted keys included', () => {
    expect(fieldParts("spec.ports[1].name")).toEqual(['spec', 'ports', 1, 'name']);
    expect(fieldParts("metadata.annotations['kubernetes.io/egress-bandwidth']")).toEqual(['metadata', 'annotations', 'kubernetes.io/egress-bandwidth']);
  });

  it('apply -f FILE: each problem at its line and column in FILE', async () => {
    const problems: InputProblem[] = [];
    await parseManifests(WEB, 'web.yaml', problems, { file: 'web.yaml' });
    expect(problems.map((p) => `${p.where} ${p.path}`)).toEqual([
      'web.yaml:9:12 web.yaml (document 1).spec.ports[1].name',
      "web.yaml:16:37 web.yaml (document 2).metadata.annotations['kubernetes.io/egress-bandwidth']",
      'web.yaml:14:9 web.yaml (document 2).metadata.name',
    ]);
  });

  it("a topology's manifest file: its own file and line, not the topology's; names printed escaped", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-sf-loc-'));
    writeFileSync(join(dir, 'web.yaml'), WEB.replace('    kubernetes.io/egress-bandwidth: 1M\n', '    x: y\n'));
    const topo = 'apiVersion: kemu.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\nspec:\n  nodes: [{name: n1}]\n  workloads: [web.yaml]\n';
    const err = (await parseTopology(topo, join(dir, 'topology.yaml')).catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.problems.map((p) => p.where)).toEqual([`${dir}/web.yaml:9:12`, `${dir}/web.yaml:14:9`]);
    expect(err.message).toContain("'bad\\nname' must be a DNS-1123 subdomain");
    expect(err.message.split('\n')).toHaveLength(3);
  });

  it('kind: List items are not located by YAML document (their numbers count items)', async () => {
    const problems: InputProblem[] = [];
    await parseManifests('apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: A}, spec: {containers: [{name: c, image: x}]}}\n', 'l.yaml', problems, { file: 'l.yaml' });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.where).toBeUndefined();
  });
});
