/**
 * `spec.ingress`: the objects of ingress-nginx's install manifest (deploy/static/provider/{cloud,baremetal}),
 * as the topology's own workloads: namespace `ingress-nginx`, IngressClass `nginx`
 * (controller k8s.io/ingress-nginx), Deployment `ingress-nginx-controller` whose controller image kemu
 * runs as real nginx (cluster/programs.ts), and Service `ingress-nginx-controller` — LoadBalancer with
 * externalTrafficPolicy Local as the cloud manifest has it, or NodePort as the bare-metal one.
 */
import type { InputProblem } from './errors.js';
import type { Manifest } from './manifests.js';
import type { RawTopology } from './schema.js';
import type { IngressSpec, NetworkSpec } from './types.js';

export const CONTROLLER_IMAGE = 'registry.k8s.io/ingress-nginx/controller:v1.15.1';
const NS = 'ingress-nginx';
const NAME = 'ingress-nginx-controller';
const SELECTOR = { 'app.kubernetes.io/component': 'controller', 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/name': 'ingress-nginx' };
const LABELS = { ...SELECTOR, 'app.kubernetes.io/part-of': 'ingress-nginx', 'app.kubernetes.io/version': '1.15.1' };

/** The resolved switch, or undefined when the lab has no controller; problems name spec.ingress fields. */
export function resolveIngress(raw: RawTopology, network: NetworkSpec, problems: InputProblem[]): IngressSpec | undefined {
  const ing = raw.spec.ingress;
  if (!ing?.enabled) return undefined;
  const service = ing.service ?? (network.loadBalancerPool ? 'LoadBalancer' : 'NodePort');
  if (service === 'LoadBalancer' && !network.loadBalancerPool)
    problems.push({ path: 'spec.ingress.service', message: 'a LoadBalancer controller Service needs an address pool: set spec.network.loadBalancerPool, or use service: NodePort' });
  const { min, max } = network.nodePortRange;
  for (const [k, v] of Object.entries(ing.nodePorts ?? {})) {
    if (v !== undefined && (v < min || v > max)) problems.push({ path: `spec.ingress.nodePorts.${k}`, message: `${v} is outside the node-port range ${min}-${max} (spec.network.nodePortRange)` });
  }
  return {
    service,
    replicas: ing.replicas,
    externalTrafficPolicy: ing.externalTrafficPolicy ?? (service === 'LoadBalancer' ? 'Local' : 'Cluster'),
    defaultClass: ing.defaultClass,
    nodePorts: ing.nodePorts ?? {},
  };
}

export function ingressControllerManifests(spec: IngressSpec): Manifest[] {
  const origin = 'spec.ingress';
  const port = (name: string, p: number, nodePort?: number) => ({ name, port: p, protocol: 'TCP', targetPort: name, appProtocol: name, ...(nodePort ? { nodePort } : {}) });
  return [
    { kind: 'Namespace', origin, object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/name': 'ingress-nginx' } } } },
    {
      kind: 'IngressClass',
      origin,
      object: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'nginx', labels: LABELS, ...(spec.defaultClass ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
        spec: { controller: 'k8s.io/ingress-nginx' },
      },
    },
    {
      kind: 'Deployment',
      origin,
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: NAME, namespace: NS, labels: LABELS },
        spec: {
          replicas: spec.replicas,
          selector: { matchLabels: SELECTOR },
          template: {
            metadata: { labels: LABELS },
            spec: {
              containers: [
                {
                  name: 'controller',
                  image: CONTROLLER_IMAGE,
                  args: ['/nginx-ingress-controller', `--publish-service=$(POD_NAMESPACE)/${NAME}`, '--election-id=ingress-nginx-leader', '--controller-class=k8s.io/ingress-nginx', '--ingress-class=nginx'],
                  ports: [
                    { name: 'http', containerPort: 80, protocol: 'TCP' },
                    { name: 'https', containerPort: 443, protocol: 'TCP' },
                    { name: 'webhook', containerPort: 8443, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { path: '/healthz', port: 10254, scheme: 'HTTP' }, periodSeconds: 10, failureThreshold: 3 },
                  resources: { requests: { cpu: '100m', memory: '90Mi' } },
                },
              ],
            },
          },
        },
      },
    },
    {
      kind: 'Service',
      origin,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: NAME, namespace: NS, labels: LABELS },
        spec: {
          type: spec.service,
          externalTrafficPolicy: spec.externalTrafficPolicy,
          selector: SELECTOR,
          ports: [port('http', 80, spec.nodePorts.http), port('https', 443, spec.nodePorts.https)],
        },
      },
    },
  ] as Manifest[];
}
