/** spec.ingress: the install manifest's objects, how they are exposed, and the container program they run. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { programOf } from '../../../src/cluster/programs.js';
import { InputError } from '../../../src/topology/errors.js';
import { parseTopology } from '../../../src/topology/load.js';

const EXAMPLE = join(import.meta.dirname, '../../../topologies/ingress.yaml');
const lab = (ingress: string, pool = true) => `apiVersion: kemu.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
  dns: {enabled: false}
  network: {${pool ? 'loadBalancerPool: 172.31.0.0/28' : ''}}
  nodes: [{name: n1}]
  ingress: ${ingress}
`;

describe('spec.ingress', () => {
  it('adds ingress-nginx\'s objects; the example topology is valid; the controller pod runs nginx', async () => {
    const t = await parseTopology(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
    const mine = t.manifests.filter((m) => m.origin === 'spec.ingress').map((m) => `${m.kind}/${m.object.metadata?.namespace ?? ''}/${m.object.metadata?.name}`);
    expect(mine).toEqual(['Namespace//ingress-nginx', 'IngressClass//nginx', 'Deployment/ingress-nginx/ingress-nginx-controller', 'Service/ingress-nginx/ingress-nginx-controller']);
    const c = clusterFromTopology(t);
    const controller = c.pods.find((p) => p.namespace === 'ingress-nginx')!;
    expect(controller.containers[0]!.program).toBe('ingress-nginx');
    expect(c.pods.filter((p) => p.namespace === 'default').every((p) => p.containers.every((x) => x.program === undefined))).toBe(true);
    const svc = c.services.find((s) => s.name === 'ingress-nginx-controller')!;
    expect([svc.type, svc.externalTrafficPolicy, svc.ports.map((p) => `${p.name}:${p.port}`)]).toEqual(['LoadBalancer', 'Local', ['http:80', 'https:443']]);
  });

  it('is NodePort with externalTrafficPolicy Cluster without a pool (the bare-metal manifest); pinned node ports', async () => {
    const t = await parseTopology(lab('{enabled: true, nodePorts: {http: 30080}}', false), '/t.yaml');
    const svc = clusterFromTopology(t).services.find((s) => s.name === 'ingress-nginx-controller')!;
    expect([svc.type, svc.externalTrafficPolicy, svc.ports[0]!.nodePort]).toEqual(['NodePort', 'Cluster', 30080]);
  });

  it('refuses LoadBalancer without a pool, and node ports outside the range, by field', async () => {
    await expect(parseTopology(lab('{enabled: true, service: LoadBalancer}', false), '/t.yaml')).rejects.toThrow(/spec\.ingress\.service: a LoadBalancer controller Service needs an address pool/);
    await expect(parseTopology(lab('{enabled: true, nodePorts: {https: 80}}'), '/t.yaml')).rejects.toThrow(/spec\.ingress\.nodePorts\.https: 80 is outside the node-port range 30000-32767/);
    await expect(parseTopology(lab('{enabled: true, replicas: -1}'), '/t.yaml')).rejects.toBeInstanceOf(InputError);
    await expect(parseTopology(lab('{enabled: true, class: x}'), '/t.yaml')).rejects.toThrow(/unknown field 'class'/);
  });

  it('is off by default and when enabled is false', async () => {
    expect((await parseTopology(lab('{enabled: false}'), '/t.yaml')).manifests.filter((m) => m.origin === 'spec.ingress')).toEqual([]);
  });

  it('knows the controller image by repository, with any tag or digest', () => {
    expect(programOf('registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:abc')).toBe('ingress-nginx');
    expect(programOf('k8s.gcr.io/ingress-nginx/controller:v1.1.0')).toBe('ingress-nginx');
    expect(programOf('nginx:1.25')).toBeUndefined();
    expect(programOf('registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5')).toBeUndefined();
  });
});
