/** spec.dns: the add-on's objects, the upstream default, the pods' planned files, StatefulSet endpoint hostnames. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { clusterFromTopology } from '../../../src/cluster/desired.js';
import { slicesForService } from '../../../src/cluster/endpoint-slices/desired.js';
import { planPod } from '../../../src/plan/pods.js';
import { resolvConfNameservers } from '../../../src/topology/cluster-dns.js';
import { parseTopology } from '../../../src/topology/load.js';
import { InputError } from '../../../src/topology/errors.js';

const topology = (spec: object) =>
  parseTopology(stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: 'dnsu' }, spec: { nodes: [{ name: 'n1' }], ...spec } }), '/tmp/dnsu.yaml');

const sts = [
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'web', port: 80 }] } },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec: { serviceName: 'nginx', replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', labels: { app: 'web' } }, spec: { hostAliases: [{ ip: '192.0.2.9', hostnames: ['legacy'] }], containers: [{ name: 'c', image: 'busybox' }] } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hn' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] } },
];

describe('spec.dns', () => {
  it('is on unless enabled: false; off, no add-on objects and no pod files, but default/kubernetes stays', async () => {
    expect((await topology({ workloads: sts })).dns?.clusterIP).toBe('10.96.0.10');
    const t = await topology({ workloads: sts, dns: { enabled: false } });
    expect(t.dns).toBeUndefined();
    const c = clusterFromTopology(t);
    expect(c.services.map((s) => `${s.namespace}/${s.name}@${s.clusterIP}`)).toEqual(['default/nginx@None', 'default/kubernetes@10.96.0.1']);
    expect(c.pods.every((p) => planPod(c, p).etc === undefined)).toBe(true);
  });

  it('brings coredns, kube-dns at the 10th address and kubernetes at the 1st, as kubeadm', async () => {
    const t = await topology({ dns: { enabled: true, upstream: ['192.168.50.53'] }, workloads: sts });
    expect(t.dns).toEqual({ clusterIP: '10.96.0.10', clusterDomain: 'cluster.local', upstreams: ['192.168.50.53'], upstreamFrom: 'topology', replicas: 1 });
    const c = clusterFromTopology(t);
    const svc = (k: string) => c.services.find((s) => `${s.namespace}/${s.name}` === k)!;
    expect(svc('kube-system/kube-dns').clusterIP).toBe('10.96.0.10');
    expect(svc('kube-system/kube-dns').ports.map((p) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    expect(svc('default/kubernetes').clusterIP).toBe('10.96.0.1');
    const coredns = c.pods.find((p) => p.namespace === 'kube-system')!;
    expect(coredns.labels).toMatchObject({ 'k8s-app': 'kube-dns' });
    expect(coredns.containers[0]!.program).toBe('coredns');
    // The DNS pod itself has dnsPolicy Default: the upstream.
    expect(planPod(c, coredns).etc!['resolv.conf']).toBe('nameserver 192.168.50.53\n');
  });

  it('plans the kubelet\'s resolv.conf and hosts: ClusterFirst, hostAliases, a StatefulSet pod\'s FQDN, hostNetwork', async () => {
    const c = clusterFromTopology(await topology({ dns: { enabled: true, upstream: ['192.168.50.53'] }, workloads: sts }));
    const pod = (name: string) => c.pods.find((p) => p.name === name)!;
    const plain = planPod(c, pod('plain')).etc!;
    expect(plain['resolv.conf']).toBe('search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect(plain.hosts).toContain(`\n${pod('plain').ip}\tplain\n`);
    expect(plain.hosts).toContain('\n192.0.2.9\tlegacy\n');
    const web0 = planPod(c, pod('web-0'));
    expect(web0.hostname).toBe('web-0');
    expect(web0.etc!.hosts).toContain(`\n${pod('web-0').ip}\tweb-0.nginx.default.svc.cluster.local\tweb-0\n`);
    // hostNetwork + ClusterFirst: the node's resolver; the host's own hosts file stays.
    expect(planPod(c, pod('hn')).etc).toEqual({ 'resolv.conf': 'nameserver 192.168.50.53\n' });
  });

  it('publishes a StatefulSet pod under its hostname in its governing Service\'s slice, no other pod (ShouldSetHostname)', async () => {
    const c = clusterFromTopology(await topology({ workloads: sts }));
    const eps = slicesForService(c, c.services.find((s) => s.name === 'nginx')!, () => true, () => undefined).flatMap((s) => s.endpoints);
    expect(eps.map((e) => [e.targetRef?.name, e.hostname])).toEqual(
      c.pods
        .filter((p) => p.labels.app === 'web')
        .sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }))
        .map((p) => [p.name, p.name === 'web-0' ? 'web-0' : undefined]),
    );
  });

  it('defaults the upstream to the host\'s resolv.conf nameservers, loopback left out', () => {
    expect(resolvConfNameservers('# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver 10.0.0.3 # second\noptions edns0\n')).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('refuses a bad upstream or a service CIDR without a 10th address, by field', async () => {
    await expect(topology({ dns: { enabled: true, upstream: ['resolver'] } })).rejects.toThrow(/spec\.dns\.upstream\[0\].*IPv4/s);
    const err = await topology({ network: { serviceCIDR: '10.96.0.0/29' }, dns: { enabled: true, upstream: ['10.0.0.2'] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toMatch(/spec\.network\.serviceCIDR.*10th address/s);
  });
});
