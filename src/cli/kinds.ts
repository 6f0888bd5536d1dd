/** The kinds `kemu get` lists (kept apart so `--help` needs nothing else). */
export const GET_KINDS = 'nodes, pods, services, endpoints, endpointslices, deployments, replicasets, statefulsets, daemonsets, jobs, replicationcontrollers, controllerrevisions, namespaces, ingresses, ingressclasses, secrets';
