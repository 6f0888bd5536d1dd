/**
 * The emulated Job controller (kubernetes pkg/controller/job, NonIndexed completion mode): up to
 * `parallelism` pods at a time until `completions` pods succeeded (without completions: until one
 * did and the rest ended), failed pods replaced after a back-off (1 s here the first time, then
 * 10 s doubling to 6 min) until more than `backoffLimit` failed (restartPolicy OnFailure: until the
 * containers' restarts reach it), `activeDeadlineSeconds`, `suspend` and `ttlSecondsAfterFinished`;
 * the conditions (SuccessCriteriaMet/Complete, FailureTarget/Failed, Suspended) and counts of
 * batch/v1 as Kubernetes 1.31+ writes them. Finished pods keep their object; their sandbox is gone.
 */
import type { ControllerContext } from './types.js';
import { createPodFromTemplate } from './pod-template.js';
import { stableJson } from '../../util/stable-json.js';
import { deleteObject, isFinished, isTerminating, listObjects, markDeleted, objectKey, ownedBy, putObject, type Store, type StoredJob, type StoredPod } from '../store.js';

/** The labels the API server adds to a Job's pod template and selector. */
export const JOB_UID_LABELS = ['batch.kubernetes.io/controller-uid', 'controller-uid'] as const;
export const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'] as const;

type Status = NonNullable<StoredJob['status']>;
type Condition = NonNullable<Status['conditions']>[number];

const ms = (t: string | undefined) => (t ? Date.parse(t) || 0 : 0);
const condition = (job: StoredJob, type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
export const jobFinished = (job: StoredJob) => condition(job, 'Complete') ?? condition(job, 'Failed');

/** When a pod ended: its containers' latest finishedAt. */
function finishedAt(p: StoredPod): number {
  const times = (p.status?.containerStatuses ?? []).map((c) => ms(c.state?.terminated?.finishedAt));
  return Math.max(0, ...times) || ms(p.metadata.creationTimestamp);
}

/** The delay before a failed pod is replaced after `failures` failures (kemu shortens the first, as it does container restarts). */
export const podReplacementDelayMs = (failures: number) => (failures <= 1 ? 1000 : Math.min(10_000 * 2 ** (failures - 2), 360_000));

/** How many pods a Job wants running now (before any back-off). */
function wantedActive(job: StoredJob, succeeded: number, active: number): number {
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions ?? undefined;
  if (completions !== undefined) return Math.max(0, Math.min(parallelism, completions - succeeded));
  return succeeded > 0 ? active : parallelism;
}

/** The earliest time (epoch ms) a Job wants a sync without any other change: a back-off, a deadline, a TTL; Infinity if none. */
export function jobWakeAt(store: Store): number {
  let at = Infinity;
  for (const job of listObjects(store, 'Job')) {
    const done = jobFinished(job);
    if (done) {
      const ttl = job.spec?.ttlSecondsAfterFinished;
      if (ttl !== undefined) at = Math.min(at, ms(done.lastTransitionTime) + ttl * 1000);
      continue;
    }
    if (condition(job, 'FailureTarget') || condition(job, 'SuccessCriteriaMet') || job.spec?.suspend) continue;
    if (job.spec?.activeDeadlineSeconds !== undefined && job.status?.startTime) at = Math.min(at, ms(job.status.startTime) + job.spec.activeDeadlineSeconds * 1000);
    // A back-off matters only while the Job is short of pods.
    const pods = ownedBy(store, 'Pod', job);
    const failed = pods.filter((p) => p.status?.phase === 'Failed');
    const running = pods.filter((p) => !isFinished(p)).length;
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    if (failed.length && running < wantedActive(job, succeeded, running)) at = Math.min(at, Math.max(...failed.map(finishedAt)) + podReplacementDelayMs(failed.length));
  }
  return at;
}

export function syncJobs(store: Store, ctx: ControllerContext): void {
  for (const job of listObjects(store, 'Job')) if (!isTerminating(job)) syncJob(store, ctx, job);
}

function setCondition(conditions: Condition[], type: string, reason: string, message: string, now: string): Condition[] {
  if (conditions.some((c) => c.type === type && c.status === 'True' && c.reason === reason)) return conditions;
  return [...conditions.filter((c) => c.type !== type), { type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now }];
}

function syncJob(store: Store, ctx: ControllerContext, job: StoredJob): void {
  const now = Date.parse(ctx.now);
  const done = jobFinished(job);
  if (done) {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl !== undefined && now >= ms(done.lastTransitionTime) + ttl * 1000) deleteObject(store, 'Job', objectKey('Job', job.metadata), ctx.now);
    return;
  }
  const spec = job.spec!;
  const pods = ownedBy(store, 'Pod', job);
  const active = pods.filter((p) => !isFinished(p) && !isTerminating(p));
  const terminating = pods.filter((p) => isTerminating(p) && !isFinished(p));
  // Counts only grow: a finished pod deleted by hand stays counted, as the controller's tracking keeps it.
  const succeeded = Math.max(job.status?.succeeded ?? 0, pods.filter((p) => p.status?.phase === 'Succeeded').length);
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const failed = Math.max(job.status?.failed ?? 0, failedPods.length);
  const completions = spec.completions ?? undefined;
  let conditions = [...(job.status?.conditions ?? [])];
  const startTime = job.status?.startTime ?? (spec.suspend ? undefined : ctx.now);

  const restarts = active.filter((p) => p.spec?.restartPolicy === 'OnFailure').reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0);
  const backoffLimit = spec.backoffLimit ?? 6;
  let failure: [string, string] | undefined;
  if (failed > backoffLimit || (restarts > 0 && restarts >= backoffLimit)) failure = ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
  else if (spec.activeDeadlineSeconds !== undefined && startTime && now >= ms(startTime) + spec.activeDeadlineSeconds * 1000) failure = ['DeadlineExceeded', 'Job was active longer than specified deadline'];
  const success = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
  if (condition(job, 'FailureTarget')) failure = [condition(job, 'FailureTarget')!.reason!, condition(job, 'FailureTarget')!.message!];

  let completionTime = job.status?.completionTime;
  if (failure) {
    for (const p of active) markDeleted(store, p, ctx.now);
    conditions = setCondition(conditions, 'FailureTarget', failure[0], failure[1], ctx.now);
    if (active.length === 0 && terminating.length === 0) conditions = setCondition(conditions, 'Failed', failure[0], failure[1], ctx.now);
  } else if (success || condition(job, 'SuccessCriteriaMet')) {
    for (const p of active) markDeleted(store, p, ctx.now);
    const msg = 'Reached expected number of succeeded pods';
    conditions = setCondition(conditions, 'SuccessCriteriaMet', 'CompletionsReached', msg, ctx.now);
    if (active.length === 0 && terminating.length === 0) {
      conditions = setCondition(conditions, 'Complete', 'CompletionsReached', msg, ctx.now);
      completionTime ??= ctx.now;
    }
  } else if (spec.suspend) {
    for (const p of active) markDeleted(store, p, ctx.now);
    conditions = setCondition(conditions, 'Suspended', 'JobSuspended', 'Job suspended', ctx.now);
  } else {
    if (conditions.some((c) => c.type === 'Suspended' && c.status === 'True'))
      conditions = conditions.map((c) => (c.type === 'Suspended' ? { ...c, status: 'False', reason: 'JobResumed', message: 'Job resumed', lastTransitionTime: ctx.now } : c));
    const want = wantedActive(job, succeeded, active.length);
    const lastFailure = failedPods.length ? Math.max(...failedPods.map(finishedAt)) : 0;
    const backingOff = failedPods.length > 0 && now < lastFailure + podReplacementDelayMs(failedPods.length);
    if (active.length + terminating.length < want && !backingOff) {
      for (let i = active.length + terminating.length; i < want; i++) createJobPod(store, ctx, job);
    } else if (active.length > want) {
      for (const p of [...active].sort((a, b) => ms(b.metadata.creationTimestamp) - ms(a.metadata.creationTimestamp)).slice(0, active.length - want)) markDeleted(store, p, ctx.now);
    }
  }
  writeStatus(store, ctx, job, { startTime, completionTime, conditions, succeeded, failed });
}

function createJobPod(store: Store, ctx: ControllerContext, job: StoredJob): void {
  const labels = Object.fromEntries([...JOB_UID_LABELS.map((l) => [l, job.metadata.uid]), ...JOB_NAME_LABELS.map((l) => [l, job.metadata.name])]);
  createPodFromTemplate(store, ctx, 'Job', job, job.spec?.template, { labels });
}

function writeStatus(store: Store, ctx: ControllerContext, job: StoredJob, s: { startTime?: string; completionTime?: string; conditions: Condition[]; succeeded: number; failed: number }): void {
  const pods = ownedBy(store, 'Pod', job);
  const active = pods.filter((p) => !isFinished(p) && !isTerminating(p));
  const status: Status = {
    ...(s.conditions.length ? { conditions: s.conditions } : {}),
    ...(s.startTime ? { startTime: s.startTime } : {}),
    ...(s.completionTime ? { completionTime: s.completionTime } : {}),
    active: active.length,
    ready: active.filter((p) => ctx.isReady(objectKey('Pod', p.metadata))).length,
    succeeded: s.succeeded,
    failed: s.failed,
    terminating: pods.filter((p) => isTerminating(p) && !isFinished(p)).length,
    uncountedTerminatedPods: {},
  };
  if (stableJson(status) !== stableJson(job.status ?? {})) putObject(store, 'Job', { ...job, status });
}
