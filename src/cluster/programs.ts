/**
 * Containers that run a real program instead of kemu's default server, chosen by image as a kubelet
 * would run that image. The name is all the cluster layer knows; lab/programs.ts starts the program.
 */

/** Image (repository without tag or digest) → program name. */
const PROGRAMS: Array<{ repository: RegExp; program: string }> = [
  // ingress-nginx's controller (registry.k8s.io, and the older k8s.gcr.io / quay.io mirrors).
  { repository: /^(?:[^/]+\/)?(?:kubernetes-)?ingress-nginx\/controller(?:-chroot)?$/, program: 'ingress-nginx' },
  // CoreDNS (registry.k8s.io/coredns/coredns, k8s.gcr.io/coredns, docker.io coredns/coredns): kemu's DNS server.
  { repository: /^(?:[^/]+\/)?coredns(?:\/coredns)?$/, program: 'coredns' },
];

/** `registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:…` → `registry.k8s.io/ingress-nginx/controller`. */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export function programOf(image: string): string | undefined {
  const repo = imageRepository(image);
  return PROGRAMS.find((p) => p.repository.test(repo))?.program;
}
