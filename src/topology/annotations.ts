/** Annotations kemu understands on pods. */
import { z } from 'zod';

/** Calico's per-pod address request, e.g. '["10.244.1.7"]'. */
export const CALICO_IP_ADDRS = 'cni.projectcalico.org/ipAddrs';

const ipList = z.array(z.ipv4()).length(1);

export function podIpAnnotation(annotations: Record<string, string> | undefined): { ip?: string; error?: string } {
  const text = annotations?.[CALICO_IP_ADDRS];
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = ipList.safeParse(value);
  if (!parsed.success) return { error: `${CALICO_IP_ADDRS} must be a JSON list with one IPv4 address, e.g. '["10.244.1.7"]' (got ${text})` };
  return { ip: parsed.data[0] };
}

/** How long the default server runs before it exits, e.g. '1s' or '500ms' (Job pods: '1s' unless given). */
export const EXIT_AFTER = 'kemu.dev/exit-after';
/** The code the default server exits with after EXIT_AFTER (0 unless given): how to make a Job's pod fail. */
export const EXIT_CODE = 'kemu.dev/exit-code';

const DURATION = /^(\d{1,7})(ms|s|m)$/;

/** The exit the annotations ask for ({} when none), or the error naming the annotation. */
export function exitAnnotations(annotations: Record<string, string> | undefined): { afterMs?: number; code?: number; error?: string } {
  const after = annotations?.[EXIT_AFTER];
  const code = annotations?.[EXIT_CODE];
  const out: { afterMs?: number; code?: number; error?: string } = {};
  if (after !== undefined) {
    const m = DURATION.exec(after);
    if (!m) return { error: `${EXIT_AFTER} must be a duration such as '1s', '500ms' or '2m' (got '${after}')` };
    out.afterMs = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  }
  if (code !== undefined) {
    if (!/^\d{1,3}$/.test(code) || Number(code) > 255) return { error: `${EXIT_CODE} must be an exit code from 0 to 255 (got '${code}')` };
    out.code = Number(code);
  }
  return out;
}
