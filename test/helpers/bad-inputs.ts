/** Bad topologies, each with the field its error must name. Shared by the unit and CLI tests. */
import { stringify } from 'yaml';

export interface BadInput {
  name: string;
  lab: string;
  text: string;
  /** The field path the message must name. */
  path: string;
  message: RegExp;
}

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...extra },
  spec: { containers: [{ name: 'c', image: 'x' }] },
});

function topo(lab: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: lab }, spec: { nodes: [{ name: 'n1' }, { name: 'n2' }], ...spec } });
}

const service = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });
const web = { ...pod('w', { labels: { app: 'w' } }), spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }] } };

/** Two racks, to spread into spec.network. */
const RACKS_NET = { underlay: { racks: [{ name: 'ra', subnet: '10.1.0.0/24' }, { name: 'rb', subnet: '10.2.0.0/24' }] } };

const LONG_LAB = `kt-bad-long-${'l'.repeat(48)}`;

export const BAD_INPUTS: BadInput[] = [
  { name: 'malformed YAML', lab: 'kt-bad-yaml', text: 'apiVersion: kemu.dev/v1alpha1\nkind: Topology\nmetadata: {name: kt-bad-yaml\nspec: [', path: '', message: /malformed YAML/ },
  { name: 'unknown field', lab: 'kt-bad-field', text: topo('kt-bad-field', { network: { podCidr: '10.244.0.0/16' } }), path: 'spec.network.podCidr', message: /unknown field 'podCidr'/ },
  {
    name: 'missing node list',
    lab: 'kt-bad-nonodes',
    text: stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: 'kt-bad-nonodes' }, spec: {} }),
    path: 'spec.nodes',
    message: /expected array/,
  },
  { name: 'duplicate node names', lab: 'kt-bad-dupnode', text: topo('kt-bad-dupnode', { nodes: [{ name: 'n1' }, { name: 'n1' }] }), path: 'spec.nodes[1].name', message: /duplicate name 'n1'/ },
  { name: 'duplicate pod names', lab: 'kt-bad-duppod', text: topo('kt-bad-duppod', { workloads: [pod('p'), pod('p')] }), path: 'spec.workloads[1].metadata.name', message: /duplicate pod name 'default\/p'/ },
  { name: 'node name not a DNS-1123 label', lab: 'kt-bad-label', text: topo('kt-bad-label', { nodes: [{ name: 'Node_1' }] }), path: 'spec.nodes[0].name', message: /DNS-1123 label/ },
  { name: 'lab name not a DNS-1123 label', lab: 'kt-bad-labname', text: topo('KT.bad', {}), path: 'metadata.name', message: /DNS-1123 label/ },
  {
    name: 'overlapping pod and service CIDRs',
    lab: 'kt-bad-overlap',
    text: topo('kt-bad-overlap', { network: { podCIDR: '10.0.0.0/8', serviceCIDR: '10.96.0.0/12' } }),
    path: 'spec.network.serviceCIDR',
    message: /overlaps spec\.network\.podCIDR/,
  },
  {
    name: 'BGP AS number out of range',
    lab: 'kt-bad-as',
    text: topo('kt-bad-as', { network: { routing: 'bgp' }, nodes: [{ name: 'n1' }, { name: 'n2', asNumber: 4294967296 }] }),
    path: 'spec.nodes[1].asNumber',
    message: /must be a BGP AS number from 1 to 4294967295/,
  },
  {
    name: 'cluster AS number zero',
    lab: 'kt-bad-as0',
    text: topo('kt-bad-as0', { network: { routing: 'bgp', asNumber: 0 } }),
    path: 'spec.network.asNumber',
    message: /must be a BGP AS number/,
  },
  {
    name: 'unknown ipipMode',
    lab: 'kt-bad-ipipmode',
    text: topo('kt-bad-ipipmode', { network: { routing: 'ipip', ipipMode: 'Sometimes' } }),
    path: 'spec.network.ipipMode',
    message: /must be 'Always' .* or 'CrossSubnet'/,
  },
  {
    name: 'machine in a rack that does not exist',
    lab: 'kt-bad-rack',
    text: topo('kt-bad-rack', { network: { routing: 'ipip', ipipMode: 'CrossSubnet', underlay: { racks: [{ name: 'ra', subnet: '10.1.0.0/24' }] } }, nodes: [{ name: 'n1', rack: 'rc' }] }),
    path: 'spec.nodes[0].rack',
    message: /'rc' is not a rack of this lab; racks: ra/,
  },
  {
    name: 'node named like the fabric’s loopback',
    lab: 'kt-bad-nodelo',
    text: topo('kt-bad-nodelo', { nodes: [{ name: 'n1' }, { name: 'lo' }] }),
    path: 'spec.nodes[1].name',
    message: /'lo' is a name the kernel keeps for itself/,
  },
  {
    name: 'extra node address inside the pod CIDR',
    lab: 'kt-bad-extra',
    text: topo('kt-bad-extra', { nodes: [{ name: 'n1', extraAddresses: ['10.244.3.7/24'] }] }),
    path: 'spec.nodes[0].extraAddresses[0]',
    message: /10\.244\.3\.7\/24 lies in spec\.network\.podCIDR 10\.244\.0\.0\/16/,
  },
  {
    name: 'nodes on several racks without IPIP',
    lab: 'kt-bad-rackbgp',
    text: topo('kt-bad-rackbgp', { network: { routing: 'bgp', ...RACKS_NET }, nodes: [{ name: 'n1', rack: 'ra' }, { name: 'n2', rack: 'rb' }] }),
    path: 'spec.network.routing',
    message: /nodes sit on 2 racks .* needs routing: ipip/,
  },
  {
    name: 'overlapping racks',
    lab: 'kt-bad-rackovl',
    text: topo('kt-bad-rackovl', { network: { underlay: { racks: [{ name: 'ra', subnet: '10.1.0.0/16' }, { name: 'rb', subnet: '10.1.2.0/24' }] } } }),
    path: 'spec.network.underlay.racks[1].subnet',
    message: /overlaps spec\.network\.underlay\.racks\[0\]\.subnet/,
  },
  {
    name: 'address outside its rack',
    lab: 'kt-bad-rackaddr',
    text: topo('kt-bad-rackaddr', { network: { routing: 'ipip', ...RACKS_NET }, nodes: [{ name: 'n1', rack: 'rb', address: '10.1.0.5' }] }),
    path: 'spec.nodes[0].address',
    message: /10\.1\.0\.5 is outside rack rb's subnet 10\.2\.0\.0\/24/,
  },
  {
    name: 'overlapping underlay',
    lab: 'kt-bad-overlap2',
    text: topo('kt-bad-overlap2', { network: { underlay: { subnet: '10.244.3.0/24' } } }),
    path: 'spec.network.underlay.subnet',
    message: /overlaps spec\.network\.podCIDR/,
  },
  {
    name: 'pod pool too small',
    lab: 'kt-bad-small',
    text: topo('kt-bad-small', { network: { podCIDR: '10.244.0.0/30', blockSize: 30 }, workloads: [pod('a'), pod('b'), pod('c'), pod('d'), pod('e')] }),
    path: 'spec.network.podCIDR',
    message: /holds 4 addresses but the pods need 6/, // five pods and kube-system/coredns
  },
  {
    name: 'pinned pod IP outside the pool',
    lab: 'kt-bad-pinout',
    text: topo('kt-bad-pinout', { workloads: [pod('a', { annotations: { 'cni.projectcalico.org/ipAddrs': '["10.245.0.7"]' } })] }),
    path: 'spec.workloads[0].metadata.annotations',
    message: /10\.245\.0\.7 is outside the pod CIDR/,
  },
  {
    name: 'pinned pod IP taken',
    lab: 'kt-bad-pintaken',
    text: topo('kt-bad-pintaken', {
      workloads: [pod('a', { annotations: { 'cni.projectcalico.org/ipAddrs': '["10.244.0.7"]' } }), pod('b', { annotations: { 'cni.projectcalico.org/ipAddrs': '["10.244.0.7"]' } })],
    }),
    path: 'spec.workloads[1].metadata.annotations',
    message: /10\.244\.0\.7 \(cni\.projectcalico\.org\/ipAddrs\) is already assigned to pod default\/a/,
  },
  { name: 'manifest file missing', lab: 'kt-bad-nofile', text: topo('kt-bad-nofile', { workloads: ['does-not-exist.yaml'] }), path: 'spec.workloads[0]', message: /does-not-exist\.yaml' cannot be read/ },
  {
    name: 'unsupported kind',
    lab: 'kt-bad-kind',
    text: topo('kt-bad-kind', { workloads: [{ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 's' } }] }),
    path: 'spec.workloads[0].kind',
    message: /kind 'CronJob' is not supported/,
  },
  {
    name: 'lab name too long for derived names',
    lab: LONG_LAB,
    text: topo(LONG_LAB, { workloads: [pod(`web-${'x'.repeat(180)}`)] }),
    path: 'spec.workloads[0].metadata.name',
    message: /network namespace name kemu-kt-bad-long.* would be 2\d\d characters, over the 255 .* shorten the lab name/,
  },
  {
    name: 'unknown routing mode',
    lab: 'kt-bad-routing',
    text: topo('kt-bad-routing', { network: { routing: 'vxlan' } }),
    path: 'spec.network.routing',
    message: /must be 'static'.*'bgp'.*'ipip'/,
  },
  {
    name: 'route reflector that is not a node',
    lab: 'kt-bad-rr',
    text: topo('kt-bad-rr', { network: { routing: 'bgp', routeReflectors: ['n1', 'rr-9'] } }),
    path: 'spec.network.routeReflectors[1]',
    message: /'rr-9' is not a node of this lab/,
  },
  {
    name: 'ipipMode without ipip',
    lab: 'kt-bad-ipipmode',
    text: topo('kt-bad-ipipmode', { network: { routing: 'bgp', ipipMode: 'Always' } }),
    path: 'spec.network.ipipMode',
    message: /only applies with routing: ipip/,
  },
  {
    name: 'nodePort out of range',
    lab: 'kt-bad-np-range',
    text: topo('kt-bad-np-range', { workloads: [service('s', { type: 'NodePort', ports: [{ port: 80, nodePort: 40000 }] })] }),
    path: 'spec.workloads[0].spec.ports[0].nodePort',
    message: /40000 is outside the node-port range 30000-32767/,
  },
  {
    name: 'nodePort duplicated',
    lab: 'kt-bad-np-dup',
    text: topo('kt-bad-np-dup', {
      workloads: [service('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }), service('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })],
    }),
    path: 'spec.workloads[1].spec.ports[0].nodePort',
    message: /nodePort 30080 is already taken by default\/a/,
  },
  {
    name: 'clusterIP outside the service CIDR',
    lab: 'kt-bad-cip-out',
    text: topo('kt-bad-cip-out', { workloads: [service('s', { clusterIP: '10.200.0.1', ports: [{ port: 80 }] })] }),
    path: 'spec.workloads[0].spec.clusterIP',
    message: /10\.200\.0\.1 is outside the service CIDR/,
  },
  {
    name: 'clusterIP taken',
    lab: 'kt-bad-cip-dup',
    text: topo('kt-bad-cip-dup', { workloads: [service('a', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }), service('b', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })] }),
    path: 'spec.workloads[1].spec.clusterIP',
    message: /clusterIP 10\.96\.0\.10 is already taken by default\/a/,
  },
  {
    name: 'targetPort name no container declares',
    lab: 'kt-bad-tport',
    text: topo('kt-bad-tport', { workloads: [web, service('s', { selector: { app: 'w' }, ports: [{ port: 80, targetPort: 'grpc' }] })] }),
    path: 'spec.workloads[1].spec.ports[0].targetPort',
    message: /declares a TCP port named 'grpc'/,
  },
  {
    name: 'unknown service type',
    lab: 'kt-bad-svctype',
    text: topo('kt-bad-svctype', { workloads: [service('s', { type: 'Internal', ports: [{ port: 80 }] })] }),
    path: 'spec.workloads[0].spec.type',
    message: /unknown service type 'Internal'/,
  },
  {
    name: 'LoadBalancer pool entry that is neither a CIDR nor a range',
    lab: 'kt-bad-lbpool',
    text: topo('kt-bad-lbpool', {
      network: { loadBalancerPool: ['172.31.255.0/30', '172.31.255.9..172.31.255.12'] },
      workloads: [service('a', { type: 'LoadBalancer', ports: [{ port: 80 }] })],
    }),
    path: 'spec.network.loadBalancerPool[1]',
    message: /is neither a CIDR .* nor a range/,
  },
  {
    name: 'Service port without a number',
    lab: 'kt-bad-svcport',
    text: topo('kt-bad-svcport', { workloads: [service('s', { ports: [{ name: 'http', targetPort: 8080 }] })] }),
    path: 'spec.workloads[0].spec.ports[0].port',
    message: /is required/,
  },
  {
    name: 'kube-proxy masqueradeBit out of range on one node',
    lab: 'kt-bad-kpbit',
    text: stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: 'kt-bad-kpbit' }, spec: { nodes: [{ name: 'n1' }, { name: 'n2', kubeProxy: { iptables: { masqueradeBit: 32 } } }] } }),
    path: 'spec.nodes[1].kubeProxy.iptables.masqueradeBit',
    message: /must be within the range \[0, 31\]/,
  },
  {
    name: 'kube-proxy mode nftables',
    lab: 'kt-bad-kpmode',
    text: topo('kt-bad-kpmode', { kubeProxy: { mode: 'nftables' } }),
    path: 'spec.kubeProxy.mode',
    message: /not emulated yet/,
  },
  {
    name: 'EndpointSlice with a loopback endpoint',
    lab: 'kt-bad-eps',
    text: topo('kt-bad-eps', {
      workloads: [{ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e', labels: { 'kubernetes.io/service-name': 's' } }, addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'] }] }],
    }),
    path: 'spec.workloads[0].endpoints[0].addresses[0]',
    message: /loopback/,
  },
  {
    name: 'a field kemu does not emulate (readinessGates)',
    lab: 'kt-sf-unsup',
    text: topo('kt-sf-unsup', { workloads: [{ ...pod('g'), spec: { readinessGates: [{ conditionType: 'example.com/x' }], containers: [{ name: 'c', image: 'x' }] } }] }),
    path: 'spec.workloads[0].spec.readinessGates',
    message: /Pod default\/g: this field is not emulated by kemu: .*remove it, or pass --skip-unsupported to drop it with a warning/,
  },
  {
    name: "a Calico projectcalico.org/v3 NetworkPolicy (refused by name)",
    lab: 'kt-sf-calnp',
    text: topo('kt-sf-calnp', { workloads: [{ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'deny' }, spec: { selector: 'all()' } }] }),
    path: 'spec.workloads[0].kind',
    message: /projectcalico\.org\/v3 NetworkPolicy is not emulated yet: use networking\.k8s\.io\/v1 NetworkPolicy/,
  },
  {
    name: 'a NetworkPolicy peer in from with two peer types',
    lab: 'kt-sf-netpol',
    text: topo('kt-sf-netpol', { workloads: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] } }] }),
    path: 'spec.workloads[0].spec.ingress[0].from[0]',
    message: /may not specify more than 1 peer type/,
  },
];
