/**
 * Manifests of the workload kinds: what the API server refuses (apps/batch/core validation rules, their
 * words), what kemu refuses by name, and what a pod of each becomes (probe ports and paths served,
 * a Job pod's exit, the hostname), through a topology as `up` reads it.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { InputError } from '../../src/topology/errors.js';
import { parseManifests } from '../../src/topology/manifests.js';
import { parseTopology } from '../../src/topology/load.js';
import { clusterFromTopology } from '../../src/cluster/desired.js';
import { planLab } from '../../src/plan/lab-plan.js';

const tmpl = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });
const sts = (spec: Record<string, unknown> = {}, name = 'web') => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name }, spec: { serviceName: 'nginx', selector: { matchLabels: { app: 'web' } }, template: tmpl({ app: 'web' }), ...spec } });
const ds = (spec: Record<string, unknown> = {}) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'a' } }, template: tmpl({ app: 'a' }), ...spec } });
const job = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi', ...meta }, spec: { template: tmpl({}, { restartPolicy: 'Never' }), ...spec } });
const rs = (spec: Record<string, unknown> = {}) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'fe' }, spec: { selector: { matchLabels: { tier: 'fe' } }, template: tmpl({ tier: 'fe' }), ...spec } });
const rc = (spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: tmpl({ app: 'rc' }), ...spec } });
const pod = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });

async function problems(doc: unknown) {
  const out: Array<{ path: string; message: string }> = [];
  await parseManifests(stringify(doc), 'f.yaml', out);
  return out;
}

describe('workload manifests the API server accepts', () => {
  it('parses each kind typed, with no problem', async () => {
    for (const d of [sts(), ds(), job(), rs(), rc(), sts({ podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' }, volumeClaimTemplates: [{ metadata: { name: 'www' } }] })]) expect(await problems(d), JSON.stringify(d)).toEqual([]);
    const out: Array<{ path: string; message: string }> = [];
    const ms = await parseManifests(stringify(sts()), 'f.yaml', out);
    expect(ms.map((m) => m.kind)).toEqual(['StatefulSet']);
  });
});

describe('workload manifests the API server refuses (apps, batch and core validation)', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['StatefulSet selector not matching the template', sts({ selector: { matchLabels: { app: 'other' } } }), 'f.yaml.spec.template.metadata.labels', /`selector` does not match template `labels`/],
    ['StatefulSet with an empty selector', sts({ selector: {} }), 'f.yaml.spec.selector', /empty selector is invalid for statefulset/],
    ['StatefulSet without selector', sts({ selector: undefined }), 'f.yaml.spec.selector', /is required/],
    ['StatefulSet named like a subdomain', sts({}, 'web.v1'), 'f.yaml.metadata.name', /DNS-1123 label/],
    ['StatefulSet podManagementPolicy', sts({ podManagementPolicy: 'Random' }), 'f.yaml.spec.podManagementPolicy', /must be 'OrderedReady' or 'Parallel'/],
    ['StatefulSet OnDelete with rollingUpdate', sts({ updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } }), 'f.yaml.spec.updateStrategy.rollingUpdate', /only allowed for updateStrategy 'RollingUpdate'/],
    ['StatefulSet negative partition', sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: -1 } } }), 'f.yaml.spec.updateStrategy.rollingUpdate.partition', /≥ 0/],
    ['StatefulSet restartPolicy Never', sts({ template: tmpl({ app: 'web' }, { restartPolicy: 'Never' }) }), 'f.yaml.spec.template.spec.restartPolicy', /supported values: "Always"/],
    ['DaemonSet empty selector', ds({ selector: {} }), 'f.yaml.spec.selector', /empty selector is invalid for daemonset/],
    ['DaemonSet maxSurge with the default maxUnavailable', ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }), 'f.yaml.spec.updateStrategy.rollingUpdate.maxSurge', /may not be set when maxUnavailable is non-zero/],
    ['DaemonSet both zero', ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }), 'f.yaml.spec.updateStrategy.rollingUpdate.maxUnavailable', /cannot be 0 when maxSurge is 0/],
    ['DaemonSet activeDeadlineSeconds', ds({ template: tmpl({ app: 'a' }, { activeDeadlineSeconds: 5 }) }), 'f.yaml.spec.template.spec.activeDeadlineSeconds', /not Supported/],
    ['Job without restartPolicy', job({ template: tmpl({}) }), 'f.yaml.spec.template.spec.restartPolicy', /Unsupported value: "Always": supported values: "OnFailure", "Never"/],
    ['Job with a selector but no manualSelector', job({ selector: { matchLabels: { a: 'b' } } }), 'f.yaml.spec.selector', /`selector` will be auto-generated/],
    ['Job negative backoffLimit', job({ backoffLimit: -1 }), 'f.yaml.spec.backoffLimit', /≥ 0/],
    ['Job Indexed (not emulated)', job({ completionMode: 'Indexed', completions: 3 }), 'f.yaml.spec.completionMode', /'Indexed' is not emulated/],
    ['Job podFailurePolicy (not emulated)', job({ podFailurePolicy: { rules: [] } }), 'f.yaml.spec.podFailurePolicy', /is not emulated/],
    ['Job exit code annotation', job({ template: { metadata: { annotations: { 'kemu.dev/exit-code': 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } }), 'f.yaml.spec.template.metadata.annotations', /kemu.dev\/exit-code must be an exit code/],
    ['ReplicaSet empty selector (the API says "deployment")', rs({ selector: {} }), 'f.yaml.spec.selector', /empty selector is invalid for deployment/],
    ['ReplicaSet matchExpressions not matching', rs({ selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['be'] }] } }), 'f.yaml.spec.template.metadata.labels', /does not match/],
    ['ReplicationController selector not matching', rc({ selector: { app: 'other' } }), 'f.yaml.spec.template.metadata.labels', /does not match/],
    ['toleration without key and not Exists', pod({ tolerations: [{ value: 'x', effect: 'NoSchedule' }] }), 'f.yaml.spec.tolerations[0].operator', /operator must be Exists when `key` is empty/],
    ['toleration Exists with a value', pod({ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }), 'f.yaml.spec.tolerations[0].operator', /value must be empty when `operator` is 'Exists'/],
    ['toleration effect', pod({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }] }), 'f.yaml.spec.tolerations[0].effect', /Unsupported value: "Sometimes"/],
    ['tolerationSeconds without NoExecute', pod({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }] }), 'f.yaml.spec.tolerations[0].effect', /effect must be 'NoExecute' when `tolerationSeconds` is set/],
    [
      'node affinity In without values',
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In' }] }] } } } }),
      'f.yaml.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values',
      /must be specified when `operator` is 'In' or 'NotIn'/,
    ],
    [
      'node affinity Gt with two values',
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1', '2'] }] }] } } } }),
      'f.yaml.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values',
      /single value/,
    ],
    [
      'matchFields on a label',
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.labels', operator: 'In', values: ['a'] }] }] } } } }),
      'f.yaml.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key',
      /not a valid field selector key/,
    ],
    ['preferred weight 0', pod({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } }] } } }), 'f.yaml.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight', /range 1-100/],
    ['pod anti-affinity without topologyKey', pod({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { a: 'b' } } }] } } }), 'f.yaml.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey', /can not be empty/],
    ['liveness successThreshold 2', pod({ containers: [{ name: 'c', image: 'x', livenessProbe: { tcpSocket: { port: 80 }, successThreshold: 2 } }] }), 'f.yaml.spec.containers[0].livenessProbe.successThreshold', /must be 1/],
    ['probe without handler', pod({ containers: [{ name: 'c', image: 'x', readinessProbe: { periodSeconds: 2 } }] }), 'f.yaml.spec.containers[0].readinessProbe', /must specify a handler type/],
  ];
  for (const [name, doc, path, message] of cases) {
    it(name, async () => {
      const out = await problems(doc);
      expect(out.some((p) => p.path === path && message.test(p.message)), JSON.stringify(out)).toBe(true);
    });
  }
});

const topology = (workloads: unknown[]) =>
  stringify({ apiVersion: 'kemu.dev/v1alpha1', kind: 'Topology', metadata: { name: 't' }, spec: { nodes: [{ name: 'n1' }, { name: 'n2', taints: [{ key: 'gpu', effect: 'NoSchedule' }] }], workloads } });

describe('what the pods of these workloads become', () => {
  it('the default server listens where the probes look and answers their paths; a Job pod exits; a StatefulSet pod is named for its hostname', async () => {
    const probed = pod({
      containers: [
        {
          name: 'app',
          image: 'x',
          ports: [{ containerPort: 9000, name: 'admin' }],
          readinessProbe: { httpGet: { path: '/_healthz', port: 'admin' } },
          livenessProbe: { httpGet: { path: 'live?verbose=1', port: 9001 } },
          startupProbe: { exec: { command: ['true'] } },
        },
      ],
    });
    const t = await parseTopology(topology([probed, job({}, { annotations: {} }), { ...job({ template: { metadata: { annotations: { 'kemu.dev/exit-code': '3', 'kemu.dev/exit-after': '200ms' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } }), metadata: { name: 'bad' } }, sts()]), '/x/t.yaml');
    const c = clusterFromTopology(t);
    const app = c.pods.find((p) => p.name === 'p')!.containers[0]!;
    expect(app.tcpPorts).toEqual([9000, 9001]);
    expect(app.probePaths).toEqual(['/_healthz', '/live?verbose=1']);
    expect(app.readinessProbe).toMatchObject({ kind: 'httpGet', port: 9000, path: '/_healthz', periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 });
    expect(app.startupProbe).toMatchObject({ kind: 'exec', command: ['true'] });
    const plan = planLab(c);
    expect(plan.pods.find((p) => p.name === 'p')!.containers[0]!.args).toEqual(['--probe-path', '/_healthz', '--probe-path', '/live']);
    const jobPod = plan.pods.find((p) => p.name.startsWith('pi-'))!;
    expect(jobPod.containers[0]!.args).toEqual(['--exit-after', '1000ms']);
    expect(plan.pods.find((p) => p.name.startsWith('bad-'))!.containers[0]!.args).toEqual(['--exit-after', '200ms', '--exit-code', '3']);
    // StatefulSet pods: web-0 only (OrderedReady waits for readiness), its hostname its name; none on the tainted node.
    const web = plan.pods.filter((p) => p.name.startsWith('web-'));
    expect(web.map((p) => [p.name, p.hostname])).toEqual([['web-0', 'web-0']]);
    expect(c.pods.every((p) => p.nodeName === 'n1')).toBe(true);
  });

  it('a pinned pod address cannot be shared by the pods of a StatefulSet or DaemonSet', async () => {
    const pinned = { metadata: { labels: { app: 'web' }, annotations: { 'cni.projectcalico.org/ipAddrs': '["10.244.0.9"]' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const err = (await parseTopology(topology([sts({ replicas: 2, template: pinned })]), '/x/t.yaml').catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.problems[0]!.message).toMatch(/cannot be shared by 2 replicas/);
  });
});
