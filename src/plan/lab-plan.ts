/** desired cluster state → the whole lab's kernel plan. Pure: no I/O, testable without root. */
import type { ClusterState } from '../cluster/types.js';
import { planFabric, planMachines } from './machines.js';
import { planPod } from './pods.js';
import { planRoutes } from './routes.js';
import type { LabPlan } from './types.js';

export function planLab(c: ClusterState): LabPlan {
  return {
    lab: c.lab,
    fabric: planFabric(c),
    machines: planMachines(c),
    pods: c.pods.map((p) => planPod(c, p)),
    routes: planRoutes(c),
  };
}
