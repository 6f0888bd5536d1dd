/** What the emulated controllers and the scheduler need from the lab besides the store. */

export interface ControllerContext {
  /** The current time, RFC 3339 (creationTimestamp, deletionTimestamp, condition times). */
  now: string;
  /** A 5-character pod name suffix from Kubernetes's safe alphabet: random in the lab, seeded in tests. */
  suffix: () => string;
  /** Whether a pod (`namespace/name`) is ready: its containers run and its readiness probes pass. */
  isReady: (podKey: string) => boolean;
}

/** A node as the scheduler sees it (from the topology). */
export interface SchedulingNode {
  name: string;
  /** Node labels, including kubernetes.io/hostname. */
  labels: Record<string, string>;
  /** `spec.unschedulable` (a cordoned node): no new pods. */
  unschedulable: boolean;
  allocatable: { cpuMilli: number; memoryBytes: number; pods: number };
}
