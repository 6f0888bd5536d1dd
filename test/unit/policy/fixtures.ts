import type { NamespaceLabels, PolicyPod } from '../../../src/cluster/network-policy.js';

/** The upstream e2e layout: namespaces x, y, z (label ns=<name>), pods a, b, c (label pod=<name>) serving 80/81 TCP+UDP. */
export const NAMESPACES: NamespaceLabels = { x: { ns: 'x' }, y: { ns: 'y' }, z: { ns: 'z' } };
const ports = [80, 81].flatMap((p) => (['TCP', 'UDP'] as const).map((proto) => ({ name: `serve-${p}-${proto.toLowerCase()}`, containerPort: p, protocol: proto })));
export const PODS: PolicyPod[] = ['x', 'y', 'z'].flatMap((ns, i) => ['a', 'b', 'c'].map((pod, j) => ({ namespace: ns, name: pod, ip: `10.244.${i + 1}.${10 + j}`, labels: { pod }, ports })));
export const pod = (id: string) => PODS.find((p) => `${p.namespace}/${p.name}` === id)!;
