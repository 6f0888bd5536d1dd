/** The ingress-nginx model of a lab's Ingresses: servers, locations and upstreams, before nginx.conf. Pure data. */
import type { IngressAnnotations } from '../../topology/ingress-annotations.js';

/** ingress-nginx's names: the controller class, the legacy annotation value, the catch-all server, the default upstream. */
export const CONTROLLER_CLASS = 'k8s.io/ingress-nginx';
export const ANNOTATION_CLASS = 'nginx';
export const CATCH_ALL = '_';
export const DEFAULT_UPSTREAM = 'upstream-default-backend';

export interface Upstream {
  /** `<namespace>-<service>-<port number or name>`, as ingress-nginx names it. */
  name: string;
  /** ip:port of every ready endpoint (or the ClusterIP with service-upstream); empty → 503. */
  servers: string[];
}

export interface LocationModel {
  /** The path as nginx gets it (a Prefix path normalized with a trailing slash). */
  path: string;
  /** prefix (`location /p/`), exact (`location = /p`); a server using regex makes all of its locations `~*`. */
  pathType: 'Prefix' | 'Exact';
  /** The upstream it proxies to. */
  upstream: string;
  /** The Ingress that defines it (none: the catch-all default). */
  ingress?: { namespace: string; name: string; service: string; port: string; path: string };
  annotations: IngressAnnotations;
  /** Still the server's default root location (no rule took "/"). */
  isDefBackend: boolean;
}

export interface ServerModel {
  /** The host (`_` for the catch-all server; `*.example.com` for a wildcard). */
  host: string;
  locations: LocationModel[];
  /** The TLS certificate file it presents (a Secret's; absent: the default fake certificate). */
  certificate?: string;
  /** Any location of the server uses a regex or a rewrite: then every location is `~* "^path"`. */
  regex: boolean;
  appRoot?: string;
}

export interface CertificateFile {
  /** File name (in the lab's ingress tls folder). */
  file: string;
  /** tls.crt then tls.key, PEM. */
  pem: string;
}

export interface IngressModel {
  servers: ServerModel[];
  upstreams: Upstream[];
  certificates: CertificateFile[];
  /** Ingresses the controller serves (namespace/name), oldest first. */
  ingresses: string[];
}
