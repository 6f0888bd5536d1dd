/**
 * The `nginx.ingress.kubernetes.io/*` annotations kemu emulates, parsed as ingress-nginx parses them
 * (booleans as Go's strconv.ParseBool). Any other annotation of that prefix changes what nginx does, so
 * it is refused by name rather than ignored.
 */
export const NGINX_ANNOTATION = 'nginx.ingress.kubernetes.io/';

export interface IngressAnnotations {
  rewriteTarget?: string;
  useRegex: boolean;
  /** Redirect HTTP to HTTPS when the host has TLS (default true). */
  sslRedirect: boolean;
  /** Redirect HTTP to HTTPS even without TLS on the host. */
  forceSslRedirect: boolean;
  backendProtocol: 'HTTP' | 'HTTPS' | 'AUTO_HTTP';
  /** Proxy to the Service's ClusterIP instead of its endpoints. */
  serviceUpstream: boolean;
  appRoot?: string;
  upstreamVhost?: string;
  xForwardedPrefix?: string;
}

type Parser = (value: string) => string | undefined;

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
const bool: Parser = (v) => (TRUE.includes(v) || FALSE.includes(v) ? undefined : `'${v}' is not a boolean; use "true" or "false"`);
const absolute: Parser = (v) => (v.startsWith('/') ? undefined : `'${v}' must be a path starting with '/'`);
const any: Parser = () => undefined;

const KNOWN: Record<string, Parser> = {
  'rewrite-target': (v) => (/[\s;{}'"]/.test(v) ? `'${v}' must not contain spaces, quotes, ';', '{' or '}'` : undefined),
  'use-regex': bool,
  'ssl-redirect': bool,
  'force-ssl-redirect': bool,
  'backend-protocol': (v) =>
    ['HTTP', 'HTTPS', 'AUTO_HTTP'].includes(v.toUpperCase())
      ? undefined
      : ['GRPC', 'GRPCS', 'FCGI'].includes(v.toUpperCase())
        ? `'${v}' is valid for ingress-nginx, but kemu's pods speak HTTP/1.1 only; use HTTP, HTTPS or AUTO_HTTP`
        : `'${v}' is not a backend protocol; use HTTP, HTTPS or AUTO_HTTP`,
  'service-upstream': bool,
  'app-root': absolute,
  'upstream-vhost': (v) => (/^[A-Za-z0-9.:-]+$/.test(v) ? undefined : `'${v}' must be a host name (letters, digits, '.', '-', ':')`),
  'x-forwarded-prefix': (v) => (/[\s;{}'"]/.test(v) ? `'${v}' must not contain spaces, quotes, ';', '{' or '}'` : undefined),
  // Read by the controller, not nginx: nothing to emulate beyond accepting it.
  'ingress.class': any,
};

/** Problems with the ingress-nginx annotations of one Ingress, reported by annotation key. */
export function checkIngressAnnotations(annotations: Record<string, string>, add: (key: string, message: string) => void): void {
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(NGINX_ANNOTATION)) continue;
    const parse = KNOWN[key.slice(NGINX_ANNOTATION.length)];
    if (!parse) {
      add(key, `kemu does not emulate this ingress-nginx annotation; emulated: ${Object.keys(KNOWN).filter((k) => k !== 'ingress.class').join(', ')}`);
      continue;
    }
    const problem = parse(String(value));
    if (problem) add(key, problem);
  }
}

export function parseIngressAnnotations(annotations: Record<string, string> | undefined): IngressAnnotations {
  const get = (k: string) => annotations?.[`${NGINX_ANNOTATION}${k}`];
  const flag = (k: string, fallback: boolean) => {
    const v = get(k);
    return v === undefined ? fallback : TRUE.includes(v);
  };
  const protocol = (get('backend-protocol') ?? 'HTTP').toUpperCase() as IngressAnnotations['backendProtocol'];
  return {
    ...(get('rewrite-target') !== undefined ? { rewriteTarget: get('rewrite-target') } : {}),
    useRegex: flag('use-regex', false),
    sslRedirect: flag('ssl-redirect', true),
    forceSslRedirect: flag('force-ssl-redirect', false),
    backendProtocol: ['HTTP', 'HTTPS', 'AUTO_HTTP'].includes(protocol) ? protocol : 'HTTP',
    serviceUpstream: flag('service-upstream', false),
    ...(get('app-root') ? { appRoot: get('app-root') } : {}),
    ...(get('upstream-vhost') ? { upstreamVhost: get('upstream-vhost') } : {}),
    ...(get('x-forwarded-prefix') ? { xForwardedPrefix: get('x-forwarded-prefix') } : {}),
  };
}
