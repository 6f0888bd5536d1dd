/**
 * The ingress-nginx model → one nginx.conf, shaped as ingress-nginx's nginx.tmpl renders it, for the
 * plain nginx Debian ships (no Lua): upstreams are static blocks of endpoint addresses (a change of
 * endpoints is a reload), ssl-redirect and HSTS are `if`/`map` instead of Lua, the default backend is the
 * controller's internal server on 127.0.0.1:8181 answering 404, and /healthz is served on 10254 by nginx
 * itself. Every file it names lives in the pod's folder under /run/kemu (paths come in `NginxPaths`).
 */
import { CATCH_ALL, DEFAULT_UPSTREAM, type IngressModel, type LocationModel, type ServerModel } from './types.js';

export interface NginxPaths {
  pidFile: string;
  tempDir: string;
  /** Folder of the Secrets' certificate files. */
  tlsDir: string;
  /** The controller's self-signed default certificate (cert + key in one PEM). */
  defaultCertificate: string;
  accessLog: string;
}

export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;
export const HEALTHZ_PORT = 10254;
export const DEFAULT_SERVER_PORT = 8181;
const HSTS = 'max-age=31536000; includeSubDomains';

/** A double-quoted nginx string: backslashes and quotes escaped, `$` kept literal (escapeLiteralDollar). */
const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$/g, '${literal_dollar}')}"`;
/** A location path, quoted as buildLocation quotes it (sanitizeQuotedRegex; nginx does not expand variables there). */
const qp = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export function renderNginxConf(model: IngressModel, paths: NginxPaths): string {
  const out: string[] = [
    '# nginx.conf of an ingress-nginx controller pod, rendered by kemu from the served Ingresses:',
    `#   ${model.ingresses.join(', ') || '(none)'}`,
    'daemon off;',
    'master_process on;',
    'worker_processes auto;',
    // The pod folder is root's (0700): the workers run as root to read what the master reads.
    'user root;',
    `pid ${paths.pidFile};`,
    'error_log stderr notice;',
    'worker_shutdown_timeout 240s;',
    'events {',
    '    worker_connections 16384;',
    '    multi_accept on;',
    '    use epoll;',
    '}',
    'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${paths.tempDir}/${t};`),
    '    default_type text/html;',
    '    sendfile on;',
    '    tcp_nopush on;',
    '    tcp_nodelay on;',
    '    keepalive_timeout 75s;',
    '    keepalive_requests 1000;',
    '    client_header_buffer_size 1k;',
    '    large_client_header_buffers 4 8k;',
    '    client_body_buffer_size 8k;',
    '    client_max_body_size 1m;',
    '    server_tokens off;',
    '    server_names_hash_bucket_size 128;',
    '    map_hash_bucket_size 64;',
    `    log_format upstreaminfo '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';`,
    `    access_log ${paths.accessLog} upstreaminfo;`,
    '    map $http_upgrade $connection_upgrade {',
    '        default upgrade;',
    "        '' '';",
    '    }',
    '    map $http_x_request_id $req_id {',
    '        default $http_x_request_id;',
    '        "" $request_id;',
    '    }',
    '    map $http_host $kemu_best_http_host {',
    '        default $http_host;',
    '        "" $host;',
    '    }',
    // ingress-nginx redirects without the request's trailing slash (preserve-trailing-slash false).
    '    map $request_uri $kemu_redirect_uri {',
    '        "~^(?<kemu_uri>.*)/$" $kemu_uri;',
    '        default $request_uri;',
    '    }',
    '    map $scheme $kemu_hsts {',
    `        https "${HSTS}";`,
    '        default "";',
    '    }',
    '    geo $literal_dollar {',
    '        default "$";',
    '    }',
    '    server_name_in_redirect off;',
    '    port_in_redirect off;',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '    ssl_session_cache shared:SSL:10m;',
    '    ssl_session_timeout 10m;',
    '    ssl_session_tickets off;',
    '    ssl_buffer_size 4k;',
    "    ssl_ciphers 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384';",
    '    ssl_prefer_server_ciphers on;',
    '    ssl_ecdh_curve auto;',
    `    ssl_certificate ${paths.defaultCertificate};`,
    `    ssl_certificate_key ${paths.defaultCertificate};`,
    '    proxy_ssl_session_reuse on;',
  ];
  for (const u of model.upstreams) {
    if (u.servers.length === 0) continue; // locations on an empty upstream answer 503 themselves
    out.push(`    upstream ${u.name} {`);
    // The Lua balancer never marks a peer failed; nginx's max_fails=0 does the same.
    for (const s of u.servers) out.push(`        server ${s} max_fails=0;`);
    if (u.name !== DEFAULT_UPSTREAM) out.push('        keepalive 320;', '        keepalive_time 1h;', '        keepalive_timeout 60s;', '        keepalive_requests 10000;');
    out.push('    }');
  }
  const nonEmpty = new Set(model.upstreams.filter((u) => u.servers.length).map((u) => u.name));
  for (const s of model.servers) out.push(...renderServer(s, paths, nonEmpty));
  out.push(
    '    # the default backend: the controller\'s internal server',
    '    server {',
    `        listen 127.0.0.1:${DEFAULT_SERVER_PORT};`,
    '        set $proxy_upstream_name "internal";',
    '        access_log off;',
    '        location / {',
    '            return 404;',
    '        }',
    '    }',
    '    # the controller\'s health port (the readiness probe)',
    '    server {',
    `        listen ${HEALTHZ_PORT};`,
    '        set $proxy_upstream_name "internal";',
    '        access_log off;',
    '        location /healthz {',
    '            return 200;',
    '        }',
    '        location /nginx_status {',
    '            stub_status on;',
    '        }',
    '        location / {',
    '            return 404;',
    '        }',
    '    }',
    '}',
  );
  return out.join('\n') + '\n';
}

function renderServer(s: ServerModel, paths: NginxPaths, nonEmpty: Set<string>): string[] {
  const catchAll = s.host === CATCH_ALL;
  // A wildcard matches one label (buildServerName), where nginx's own `*.` would match several.
  const name = catchAll ? '_' : s.host.startsWith('*.') ? qp(`~^(?<subdomain>[\\w-]+)\\.${s.host.slice(2).split('.').join('\\.')}$`) : qp(s.host);
  const listen = catchAll ? ' default_server backlog=4096' : '';
  // certificate_configured_for_current_request: a rule host whose Ingress has tls (the catch-all never).
  const tls = !catchAll && s.certificate !== undefined;
  const out = [
    `    ## start server ${s.host}`,
    '    server {',
    `        server_name ${name};`,
    `        listen ${HTTP_PORT}${listen};`,
    `        listen ${HTTPS_PORT}${listen} ssl http2;`,
    '        set $proxy_upstream_name "-";',
  ];
  if (s.certificate) out.push(`        ssl_certificate ${paths.tlsDir}/${s.certificate};`, `        ssl_certificate_key ${paths.tlsDir}/${s.certificate};`);
  if (tls) out.push('        add_header Strict-Transport-Security $kemu_hsts always;');
  if (s.appRoot) out.push('        if ($uri = /) {', `            return 302 $scheme://$http_host${s.appRoot};`, '        }');
  for (const l of s.locations) out.push(...renderLocation(l, s, tls, nonEmpty));
  if (catchAll) out.push('        location /healthz {', '            access_log off;', '            return 200;', '        }');
  out.push('    }', `    ## end server ${s.host}`);
  return out;
}

function renderLocation(l: LocationModel, s: ServerModel, tls: boolean, nonEmpty: Set<string>): string[] {
  const a = l.annotations;
  const spec = s.regex ? `~* ${qp(`^${l.path}`)}` : l.pathType === 'Exact' ? `= ${qp(l.path)}` : qp(l.path);
  const ing = l.ingress ?? { namespace: '', name: '', service: '', port: '', path: l.path };
  const set = (k: string, v: string) => `            set $${k} ${q(v)};`;
  const header = (k: string, v: string) => `            proxy_set_header ${k} ${v};`;
  const redirect = a.forceSslRedirect || (a.sslRedirect && tls);
  const scheme = a.backendProtocol === 'HTTPS' ? 'https://' : a.backendProtocol === 'AUTO_HTTP' ? '$scheme://' : 'http://';
  const rewrite = a.rewriteTarget !== undefined && a.rewriteTarget !== '' && a.rewriteTarget !== l.path;
  return [
    `        location ${spec} {`,
    set('namespace', ing.namespace),
    set('ingress_name', ing.name),
    set('service_name', ing.service),
    set('service_port', ing.port),
    set('location_path', ing.path),
    set('proxy_upstream_name', l.upstream),
    '            set $pass_access_scheme $scheme;',
    '            set $pass_server_port $server_port;',
    '            set $best_http_host $kemu_best_http_host;',
    '            set $pass_port $pass_server_port;',
    ...(redirect ? ['            if ($scheme = http) {', '                return 308 https://$host$kemu_redirect_uri;', '            }'] : []),
    '            port_in_redirect off;',
    '            client_max_body_size 1m;',
    header('Host', a.upstreamVhost ? q(a.upstreamVhost) : '$best_http_host'),
    header('Upgrade', '$http_upgrade'),
    header('Connection', '$connection_upgrade'),
    header('X-Request-ID', '$req_id'),
    header('X-Real-IP', '$remote_addr'),
    header('X-Forwarded-For', '$remote_addr'),
    header('X-Forwarded-Host', '$best_http_host'),
    header('X-Forwarded-Port', '$pass_port'),
    header('X-Forwarded-Proto', '$pass_access_scheme'),
    header('X-Forwarded-Scheme', '$pass_access_scheme'),
    header('X-Scheme', '$pass_access_scheme'),
    header('X-Original-Forwarded-For', '$http_x_forwarded_for'),
    header('X-Original-Forwarded-Host', '$http_x_forwarded_host'),
    header('Proxy', '""'),
    '            proxy_connect_timeout 5s;',
    '            proxy_send_timeout 60s;',
    '            proxy_read_timeout 60s;',
    '            proxy_buffering off;',
    '            proxy_buffer_size 4k;',
    '            proxy_buffers 4 4k;',
    '            proxy_request_buffering on;',
    '            proxy_http_version 1.1;',
    '            proxy_cookie_domain off;',
    '            proxy_cookie_path off;',
    '            proxy_next_upstream error timeout;',
    '            proxy_next_upstream_timeout 0;',
    '            proxy_next_upstream_tries 3;',
    ...(rewrite ? [`            rewrite ${qp(`(?i)${l.path}`)} ${a.rewriteTarget} break;`, ...(a.xForwardedPrefix ? [header('X-Forwarded-Prefix', q(a.xForwardedPrefix))] : [])] : []),
    // No ready endpoint: ingress-nginx's balancer answers 503.
    nonEmpty.has(l.upstream) ? `            proxy_pass ${l.upstream === DEFAULT_UPSTREAM ? 'http://' : scheme}${l.upstream};` : '            return 503;',
    '            proxy_redirect off;',
    '        }',
  ];
}
