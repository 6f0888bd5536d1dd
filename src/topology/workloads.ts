/**
 * Checks of the workload kinds beyond Deployments (StatefulSet, DaemonSet, Job, ReplicaSet,
 * ReplicationController) and of the pod-spec fields kemu emulates for every pod (tolerations, node
 * and pod affinity, probes, kemu's exit annotations), with the API server's rules and words
 * (kubernetes pkg/apis/apps/validation, pkg/apis/batch/validation, pkg/apis/core/validation).
 */
import type { V1DaemonSet, V1Job, V1PodSpec, V1PodTemplateSpec, V1Probe, V1ReplicaSet, V1ReplicationController, V1StatefulSet } from '@kubernetes/client-node';
import type { InputProblem } from './errors.js';
import { exitAnnotations } from './annotations.js';
import { checkSysctls } from './sysctls.js';
import { checkLabelSelector as checkApiLabelSelector } from './apimachinery.js';
import { selectorMatches, type LabelSelector } from '../cluster/selectors.js';
import { checkHostPorts } from './host-ports.js';

export const WORKLOAD_API_VERSIONS = { StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', Job: 'batch/v1', ReplicaSet: 'apps/v1', ReplicationController: 'v1' } as const;
export type WorkloadKind = keyof typeof WORKLOAD_API_VERSIONS;
export const WORKLOAD_KINDS = Object.keys(WORKLOAD_API_VERSIONS) as WorkloadKind[];
export type WorkloadManifest =
  | { kind: 'StatefulSet'; object: V1StatefulSet; origin: string }
  | { kind: 'DaemonSet'; object: V1DaemonSet; origin: string }
  | { kind: 'Job'; object: V1Job; origin: string }
  | { kind: 'ReplicaSet'; object: V1ReplicaSet; origin: string }
  | { kind: 'ReplicationController'; object: V1ReplicationController; origin: string };

type Add = (path: string, message: string) => void;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const nonNegative = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const list = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');

/** The pod template of a workload manifest, and the path to it. */
export function templateOf(m: { kind: string; object: unknown }): { template?: V1PodTemplateSpec; path: string } | undefined {
  if (m.kind === 'Pod') return undefined;
  const spec = (m.object as { spec?: { template?: V1PodTemplateSpec } }).spec;
  return { template: spec?.template, path: 'spec.template' };
}

function checkLabelSelector(s: LabelSelector | undefined, path: string, add: Add): void {
  checkApiLabelSelector(s, path, add);
}

/** A selector the controller needs: present, not empty, valid, and matching the template's labels. */
function checkSelector(selector: LabelSelector | undefined, template: V1PodTemplateSpec | undefined, kindWord: string, where: string, add: Add): void {
  if (!selector) return add(`${where}.spec.selector`, `is required: a ${kindWord === 'deployment' ? 'ReplicaSet' : kindWord} selects its pods by labels`);
  if (!Object.keys(selector.matchLabels ?? {}).length && !selector.matchExpressions?.length) return add(`${where}.spec.selector`, `empty selector is invalid for ${kindWord}`);
  checkLabelSelector(selector, `${where}.spec.selector`, add);
  if (!selectorMatches(selector, template?.metadata?.labels ?? {})) add(`${where}.spec.template.metadata.labels`, '`selector` does not match template `labels`; give the template the labels the selector asks for');
}

function checkProbe(p: V1Probe | undefined, path: string, add: Add, mustSucceedOnce: boolean): void {
  if (!p) return;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => (p as Record<string, unknown>)[h] !== undefined);
  if (handlers.length === 0) add(path, 'must specify a handler type (httpGet, tcpSocket, exec or grpc)');
  if (handlers.length > 1) add(path, `may not specify more than 1 handler type (it has ${handlers.join(', ')})`);
  for (const f of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = p[f];
    if (v === undefined) continue;
    const min = f === 'initialDelaySeconds' ? 0 : 1;
    if (!Number.isInteger(v) || v < min) add(`${path}.${f}`, `${String(v)} must be a whole number ≥ ${min}`);
  }
  if (mustSucceedOnce && p.successThreshold !== undefined && p.successThreshold !== 1) add(`${path}.successThreshold`, 'must be 1 (liveness and startup probes pass on one success)');
}

/** The pod-spec fields kemu emulates for every pod: tolerations, affinity, probes, exit annotations. */
export function checkPodSpec(spec: V1PodSpec | undefined, annotations: Record<string, string> | undefined, specPath: string, metaPath: string, add: Add): void {
  const exit = exitAnnotations(annotations);
  if (exit.error) add(`${metaPath}.annotations`, exit.error);
  checkSysctls(spec?.securityContext?.sysctls, `${specPath}.securityContext.sysctls`, add, spec?.hostNetwork === true);
  (spec?.tolerations ?? []).forEach((t, i) => {
    const p = `${specPath}.tolerations[${i}]`;
    const op = t.operator ?? 'Equal';
    if (op !== 'Equal' && op !== 'Exists') add(`${p}.operator`, `Unsupported value: "${op}": supported values: "Equal", "Exists"`);
    if (!t.key && op !== 'Exists') add(`${p}.operator`, 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
    if (op === 'Exists' && t.value) add(`${p}.operator`, "value must be empty when `operator` is 'Exists'");
    if (t.effect && !TAINT_EFFECTS.includes(t.effect)) add(`${p}.effect`, `Unsupported value: "${t.effect}": supported values: ${list(TAINT_EFFECTS)}`);
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') add(`${p}.effect`, "effect must be 'NoExecute' when `tolerationSeconds` is set");
  });
  const na = spec?.affinity?.nodeAffinity;
  const checkTerm = (term: { matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>; matchFields?: Array<{ key: string; operator: string; values?: string[] }> }, p: string) => {
    (term.matchExpressions ?? []).forEach((r, i) => {
      const q = `${p}.matchExpressions[${i}]`;
      const n = r.values?.length ?? 0;
      if (r.operator === 'In' || r.operator === 'NotIn') {
        if (n === 0) add(`${q}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
      } else if (r.operator === 'Exists' || r.operator === 'DoesNotExist') {
        if (n) add(`${q}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      } else if (r.operator === 'Gt' || r.operator === 'Lt') {
        if (n !== 1) add(`${q}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'");
      } else add(`${q}.operator`, `'${r.operator}' is not a valid selector operator; use In, NotIn, Exists, DoesNotExist, Gt or Lt`);
    });
    (term.matchFields ?? []).forEach((r, i) => {
      const q = `${p}.matchFields[${i}]`;
      if (r.key !== 'metadata.name') add(`${q}.key`, `'${r.key}' is not a valid field selector key; only metadata.name is`);
      if (r.operator !== 'In' && r.operator !== 'NotIn') add(`${q}.operator`, `'${r.operator}' is not a valid operator for a field selector; use In or NotIn`);
      else if ((r.values?.length ?? 0) !== 1) add(`${q}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
    });
  };
  const required = na?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const p = `${specPath}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    if (!required.nodeSelectorTerms?.length) add(p, 'must have at least one node selector term');
    (required.nodeSelectorTerms ?? []).forEach((t, i) => checkTerm(t, `${p}[${i}]`));
  }
  (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((w, i) => {
    const p = `${specPath}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    if (!Number.isInteger(w.weight) || w.weight < 1 || w.weight > 100) add(`${p}.weight`, `${String(w.weight)} must be in the range 1-100`);
    checkTerm(w.preference ?? {}, `${p}.preference`);
  });
  for (const which of ['podAffinity', 'podAntiAffinity'] as const) {
    const a = spec?.affinity?.[which];
    const base = `${specPath}.affinity.${which}`;
    const checkPodTerm = (t: { topologyKey?: string; labelSelector?: LabelSelector }, p: string) => {
      if (!t.topologyKey) add(`${p}.topologyKey`, "can not be empty: name the node label whose values group nodes, e.g. 'kubernetes.io/hostname'");
      checkLabelSelector(t.labelSelector, `${p}.labelSelector`, add);
    };
    (a?.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => checkPodTerm(t, `${base}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`));
    (a?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((w, i) => {
      const p = `${base}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (!Number.isInteger(w.weight) || w.weight < 1 || w.weight > 100) add(`${p}.weight`, `${String(w.weight)} must be in the range 1-100`);
      checkPodTerm(w.podAffinityTerm ?? {}, `${p}.podAffinityTerm`);
    });
  }
  (spec?.containers ?? []).forEach((c, i) => {
    const p = `${specPath}.containers[${i}]`;
    checkProbe(c.livenessProbe, `${p}.livenessProbe`, add, true);
    checkProbe(c.readinessProbe, `${p}.readinessProbe`, add, false);
    checkProbe(c.startupProbe, `${p}.startupProbe`, add, true);
  });
  checkHostPorts(spec, specPath, add);
}

const restartPolicyOf = (t: V1PodTemplateSpec | undefined) => t?.spec?.restartPolicy ?? 'Always';

function checkAlwaysRestart(template: V1PodTemplateSpec | undefined, kind: string, where: string, add: Add): void {
  if (restartPolicyOf(template) !== 'Always') add(`${where}.spec.template.spec.restartPolicy`, `Unsupported value: "${restartPolicyOf(template)}": supported values: "Always" (a ${kind}'s pods run until it removes them)`);
  if (template?.spec?.activeDeadlineSeconds !== undefined) add(`${where}.spec.template.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`);
}

function checkReplicas(v: unknown, where: string, add: Add): void {
  if (v !== undefined && !nonNegative(v)) add(`${where}.spec.replicas`, `${String(v)} must be a whole number ≥ 0`);
}

/** An int-or-percent field (`3` or `"25%"`). */
function checkIntOrPercent(v: unknown, path: string, add: Add): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return nonNegative(v) ? v : (add(path, `${v} must be a whole number ≥ 0 or a percentage such as "25%"`), undefined);
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) return (add(path, `'${String(v)}' must be a whole number ≥ 0 or a percentage such as "25%"`), undefined);
  if (Number(m[1]) > 100) add(path, 'must not be greater than 100%');
  return Number(m[1]);
}

/** Check one workload manifest of `kind` (its metadata and containers were checked by the caller). */
export function checkWorkload(kind: WorkloadKind, doc: unknown, where: string, problems: InputProblem[]): void {
  const add: Add = (path, message) => problems.push({ path, message });
  const o = doc as { metadata?: { name?: string }; spec?: Record<string, any> };
  const spec = o.spec;
  if (!spec) return add(`${where}.spec`, 'is required');
  const template = spec.template as V1PodTemplateSpec | undefined;
  if (!template) add(`${where}.spec.template`, 'is required: the pods are made from it');
  checkPodSpec(template?.spec, template?.metadata?.annotations, `${where}.spec.template.spec`, `${where}.spec.template.metadata`, add);
  switch (kind) {
    case 'StatefulSet': {
      const name = o.metadata?.name;
      if (name && (name.length > 63 || !DNS_LABEL.test(name))) add(`${where}.metadata.name`, `'${name}' must be a DNS-1123 label (its pods are named <name>-<ordinal> and take it as their hostname): lower-case letters, digits and '-', at most 63`);
      checkReplicas(spec.replicas, where, add);
      checkSelector(spec.selector, template, 'statefulset', where, add);
      checkAlwaysRestart(template, 'StatefulSet', where, add);
      if (spec.podManagementPolicy !== undefined && !['OrderedReady', 'Parallel'].includes(spec.podManagementPolicy))
        add(`${where}.spec.podManagementPolicy`, `'${spec.podManagementPolicy}': must be 'OrderedReady' or 'Parallel'`);
      const us = spec.updateStrategy;
      if (us?.type !== undefined && !['RollingUpdate', 'OnDelete'].includes(us.type)) add(`${where}.spec.updateStrategy`, `'${us.type}': must be 'RollingUpdate' or 'OnDelete'`);
      if (us?.type === 'OnDelete' && us.rollingUpdate) add(`${where}.spec.updateStrategy.rollingUpdate`, "only allowed for updateStrategy 'RollingUpdate'");
      if (us?.rollingUpdate?.partition !== undefined && !nonNegative(us.rollingUpdate.partition)) add(`${where}.spec.updateStrategy.rollingUpdate.partition`, `${String(us.rollingUpdate.partition)} must be a whole number ≥ 0`);
      if (spec.ordinals?.start !== undefined && !nonNegative(spec.ordinals.start)) add(`${where}.spec.ordinals.start`, `${String(spec.ordinals.start)} must be a whole number ≥ 0`);
      if (spec.serviceName !== undefined && spec.serviceName !== '' && !DNS_LABEL.test(spec.serviceName)) add(`${where}.spec.serviceName`, `'${spec.serviceName}' must be a DNS-1123 label: the name of the headless Service that gives the pods their DNS names`);
      return;
    }
    case 'DaemonSet': {
      checkSelector(spec.selector, template, 'daemonset', where, add);
      checkAlwaysRestart(template, 'DaemonSet', where, add);
      const us = spec.updateStrategy;
      if (us?.type !== undefined && !['RollingUpdate', 'OnDelete'].includes(us.type)) add(`${where}.spec.updateStrategy`, `Unsupported value: "${us.type}": supported values: "RollingUpdate", "OnDelete"`);
      if (us?.type !== 'OnDelete' && us?.rollingUpdate) {
        const p = `${where}.spec.updateStrategy.rollingUpdate`;
        const unavailable = checkIntOrPercent(us.rollingUpdate.maxUnavailable, `${p}.maxUnavailable`, add) ?? 1;
        const surge = checkIntOrPercent(us.rollingUpdate.maxSurge, `${p}.maxSurge`, add) ?? 0;
        // maxUnavailable defaults to 1: surging needs an explicit maxUnavailable: 0.
        if (unavailable !== 0 && surge !== 0) add(`${p}.maxSurge`, 'may not be set when maxUnavailable is non-zero; set maxUnavailable: 0 to surge');
        if (unavailable === 0 && surge === 0) add(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0');
      }
      return;
    }
    case 'ReplicaSet':
      checkReplicas(spec.replicas, where, add);
      // (the API server says "deployment" here too: the message is shared with Deployments)
      checkSelector(spec.selector, template, 'deployment', where, add);
      checkAlwaysRestart(template, 'ReplicaSet', where, add);
      return;
    case 'ReplicationController': {
      checkReplicas(spec.replicas, where, add);
      const selector = (spec.selector ?? {}) as Record<string, string>;
      const labels = template?.metadata?.labels ?? {};
      if (!Object.keys(selector).length && !Object.keys(labels).length) add(`${where}.spec.selector`, 'is required: give spec.selector or labels in spec.template.metadata.labels');
      else if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) add(`${where}.spec.template.metadata.labels`, '`selector` does not match template `labels`; give the template the labels the selector asks for');
      checkAlwaysRestart(template, 'ReplicationController', where, add);
      return;
    }
    case 'Job': {
      const name = o.metadata?.name;
      if (name && name.length > 63) add(`${where}.metadata.name`, `'${name}' is ${name.length} characters; a Job's name goes into its pods' job-name label, which holds at most 63`);
      const policy = template?.spec?.restartPolicy;
      if (policy !== 'OnFailure' && policy !== 'Never')
        add(`${where}.spec.template.spec.restartPolicy`, `Unsupported value: "${policy ?? 'Always'}": supported values: "OnFailure", "Never" (set restartPolicy in the Job's pod template)`);
      for (const f of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished'] as const)
        if (spec[f] !== undefined && spec[f] !== null && !nonNegative(spec[f])) add(`${where}.spec.${f}`, `${String(spec[f])} must be a whole number ≥ 0`);
      if (spec.activeDeadlineSeconds !== undefined && (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds < 1)) add(`${where}.spec.activeDeadlineSeconds`, `${String(spec.activeDeadlineSeconds)} must be a whole number ≥ 1`);
      if (spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed')
        add(`${where}.spec.completionMode`, spec.completionMode === 'Indexed' ? "'Indexed' is not emulated (its pods take per-index names and hostnames); kemu runs NonIndexed Jobs" : `Unsupported value: "${spec.completionMode}": supported values: "NonIndexed", "Indexed"`);
      for (const f of ['podFailurePolicy', 'successPolicy', 'backoffLimitPerIndex', 'maxFailedIndexes', 'managedBy'])
        if (spec[f] !== undefined && spec[f] !== null) add(`${where}.spec.${f}`, 'is not emulated by kemu; remove it (the Job then follows backoffLimit)');
      if (spec.manualSelector === true) checkSelector(spec.selector, template, 'job', where, add);
      else if (spec.selector) add(`${where}.spec.selector`, '`selector` will be auto-generated; remove it, or set spec.manualSelector: true to choose it');
      return;
    }
  }
}
