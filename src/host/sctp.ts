/**
 * Whether this kernel can carry SCTP for pods: the sctp protocol module (built in or loaded) shows as
 * /proc/net/sctp. iptables' `-m sctp` match works without it, but no pod could open an SCTP socket.
 */
import { access } from 'node:fs/promises';

export const sctpAvailable = (): Promise<boolean> => access('/proc/net/sctp').then(() => true, () => false);
