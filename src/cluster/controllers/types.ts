/** What the emulated controllers and the scheduler need from the lab besides the store. */
import type { Taint } from '../selectors.js';

export interface ControllerContext {
  /** The current time, RFC 3339 (creationTimestamp, deletionTimestamp, condition times). */
  now: string;
  /** A 5-character pod name suffix from Kubernetes's safe alphabet: random in the lab, seeded in tests. */
  suffix: () => string;
  /** Whether a pod (`namespace/name`) is ready: its containers run and its readiness probes pass. */
  isReady: (podKey: string) => boolean;
  /** The lab's nodes (the DaemonSet controller places a pod on each that should run one). */
  nodes?: SchedulingNode[];
}

/** A node as the scheduler sees it (from the topology). */
export interface SchedulingNode {
  name: string;
  /** Node labels, including kubernetes.io/hostname, os and arch. */
  labels: Record<string, string>;
  /** `spec.unschedulable` (a cordoned node): no new pods. */
  unschedulable: boolean;
  /** Node.spec.taints (a cordoned node also has node.kubernetes.io/unschedulable:NoSchedule, as the node lifecycle controller adds it). */
  taints: Taint[];
  allocatable: { cpuMilli: number; memoryBytes: number; pods: number };
}
