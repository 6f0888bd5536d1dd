/** The emulated controller manager: Deployments and ReplicaSets synced until the store settles. */
import type { ControllerContext } from './types.js';
import { syncDeployments } from './deployment.js';
import { syncReplicaSets } from './replicaset.js';
import type { Store } from '../store.js';

const MAX_PASSES = 10;

/** Each pass reacts to the previous one's writes, as the controllers would to watch events. */
export function runControllers(store: Store, ctx: ControllerContext): void {
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const before = store.resourceVersion;
    syncDeployments(store, ctx);
    syncReplicaSets(store, ctx);
    if (store.resourceVersion === before) return;
  }
}
