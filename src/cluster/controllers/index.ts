/** The emulated controller manager: Deployments, ReplicaSets/RCs, StatefulSets, DaemonSets and Jobs synced until the store settles. */
import type { ControllerContext } from './types.js';
import { syncDaemonSets } from './daemonset.js';
import { syncDeployments } from './deployment.js';
import { jobWakeAt, syncJobs } from './job.js';
import { syncReplicaSets } from './replicaset.js';
import { syncStatefulSets } from './statefulset.js';
import type { Store } from '../store.js';

const MAX_PASSES = 10;

/** Each pass reacts to the previous one's writes, as the controllers would to watch events. */
export function runControllers(store: Store, ctx: ControllerContext): void {
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = store.resourceVersion;
    syncDeployments(store, ctx);
    syncReplicaSets(store, ctx);
    syncStatefulSets(store, ctx);
    syncDaemonSets(store, ctx);
    syncJobs(store, ctx);
    if (store.resourceVersion === before) return;
  }
}

/** The earliest time (epoch ms) a controller acts without any other change (a Job's back-off, deadline or TTL); Infinity if never. */
export function controllerWakeAt(store: Store): number {
  return jobWakeAt(store);
}
