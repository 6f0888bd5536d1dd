/** SCTP in manifests: accepted as the API server accepts it, refused by name where this kernel cannot carry it. */
import { sctpAvailable } from '../host/sctp.js';
import { InputError } from '../topology/errors.js';
import type { Manifest } from '../topology/manifests.js';
import { SCTP_MISSING, sctpFields } from '../topology/validate.js';

export async function refuseSctp(source: string, manifests: Manifest[]): Promise<void> {
  const fields = sctpFields(manifests);
  if (fields.length && !(await sctpAvailable())) throw new InputError(source, fields.map((path) => ({ path, message: SCTP_MISSING })));
}
