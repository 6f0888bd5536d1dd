/** `kemu get` tables for MetalLB's objects, with the printer columns of MetalLB's CRDs. */
import { listObjects, objectKey, type StoredKind, type StoredMetallb } from '../cluster/store.js';
import type { LabRecord } from '../lab/state.js';

type Kind = 'IPAddressPool' | 'L2Advertisement' | 'BGPAdvertisement' | 'BGPPeer' | 'ConfigMap';
export const METALLB_GET_KINDS: Kind[] = ['IPAddressPool', 'L2Advertisement', 'BGPAdvertisement', 'BGPPeer', 'ConfigMap'];

const list = (v: unknown) => (Array.isArray(v) && v.length ? JSON.stringify(v) : undefined);

const COLUMNS: Record<Kind, { headers: string[]; cells: (o: StoredMetallb) => Array<string | number | undefined> }> = {
  IPAddressPool: { headers: ['AUTO ASSIGN', 'AVOID BUGGY IPS', 'ADDRESSES'], cells: (o) => [String(o.spec?.autoAssign ?? true), String(o.spec?.avoidBuggyIPs ?? false), list(o.spec?.addresses)] },
  L2Advertisement: { headers: ['IPADDRESSPOOLS', 'IPADDRESSPOOL SELECTORS', 'INTERFACES', 'NODE SELECTORS'], cells: (o) => [list(o.spec?.ipAddressPools), list(o.spec?.ipAddressPoolSelectors), list(o.spec?.interfaces), list(o.spec?.nodeSelectors)] },
  BGPAdvertisement: { headers: ['IPADDRESSPOOLS', 'IPADDRESSPOOL SELECTORS', 'PEERS'], cells: (o) => [list(o.spec?.ipAddressPools), list(o.spec?.ipAddressPoolSelectors), list(o.spec?.peers)] },
  BGPPeer: { headers: ['ADDRESS', 'ASN'], cells: (o) => [o.spec?.peerAddress as string, o.spec?.peerASN as number] },
  ConfigMap: { headers: ['DATA'], cells: (o) => [Object.keys(o.data ?? {}).length] },
};

export function metallbListing(record: LabRecord, kind: StoredKind) {
  const cols = COLUMNS[kind as Kind];
  if (!cols) return undefined;
  return {
    headers: ['NAMESPACE', 'NAME', ...cols.headers],
    wideHeaders: [],
    rows: listObjects(record.store, kind as Kind)
      .sort((a, b) => objectKey(kind, a.metadata).localeCompare(objectKey(kind, b.metadata)))
      .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name, object: o, cells: [o.metadata.namespace, o.metadata.name, ...cols.cells(o)], wide: [] })),
  };
}
