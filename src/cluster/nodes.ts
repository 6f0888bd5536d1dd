/** Nodes as the kubelet registers them: the well-known labels it sets, then the topology's own. */

/** Go's GOARCH for Node's process.arch, as the kubelet reports it in kubernetes.io/arch. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
export const NODE_ARCH = GOARCH[process.arch] ?? process.arch;

/**
 * The labels of a node: kubernetes.io/hostname, os and arch (and their beta.kubernetes.io twins, which
 * the kubelet still sets), then the topology's labels (node-role.kubernetes.io/… only if it gives them).
 */
export function nodeLabels(name: string, labels: Record<string, string>): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': NODE_ARCH,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': NODE_ARCH,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    ...labels,
  };
}

/** kubectl's ROLES column: the node-role.kubernetes.io/<role> labels. */
export function nodeRoles(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
}
