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
