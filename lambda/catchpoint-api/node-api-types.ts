// The node lists of Catchpoint's REST APIs (spec §6–7), as documented. These shapes come from the network:
// code that reads them checks every field at run time and treats a missing or odd value as absent.

/** `{id, name}` pair used throughout both API generations. */
export interface NamedRef {
  id?: number | string | null;
  name?: string | null;
}

/** One node of `GET /api/v2/nodes/all` (all network types). No ISP, region or continent. */
export interface V2Node {
  id?: number | string | null;
  name?: string | null;
  ipRanges?: string | null;
  isIPv6?: boolean | null;
  latitude?: number | string | null;
  longitude?: number | string | null;
  status?: NamedRef | null;
  networkType?: NamedRef | null;
  /** `id` is (very likely) the AS number. */
  asn?: NamedRef | null;
  city?: NamedRef | null;
  country?: NamedRef | null;
}

/** One node of `GET /api/v2/nodes` (Enterprise nodes): ISP, state and continent, but no ASN. */
export interface V2EnterpriseNode {
  id?: number | string | null;
  name?: string | null;
  status?: NamedRef | null;
  networkType?: NamedRef | null;
  isPaused?: boolean | null;
  country?: NamedRef | null;
  state?: NamedRef | null;
  continent?: NamedRef | null;
  /** Strings here, unlike in `/nodes/all`. */
  latitude?: number | string | null;
  longitude?: number | string | null;
  internetServiceProvider?: NamedRef | null;
  city?: NamedRef | null;
  isIPv6?: boolean | null;
}

/** One item of `GET /ui/api/v1/nodes`. */
export interface V1Item {
  id?: number | string | null;
  name?: string | null;
  status?: NamedRef | null;
  network_type?: NamedRef | null;
  ip_ranges?: string | null;
  isp?: NamedRef | null;
  /** `value` is the AS number with its prefix: `"AS3356"`. */
  asn?: { value?: string | number | null; name?: string | null } | null;
  city?: NamedRef | null;
  region?: NamedRef | null;
  country?: NamedRef | null;
  continent?: NamedRef | null;
  targeted?: boolean | null;
  coordinates?: { latitude?: number | string | null; longitude?: number | string | null } | null;
}

/** What one full fetch of the node list returned, before normalisation. */
export type RawNodeList =
  | { version: 'v2'; nodes: V2Node[]; enterprise: V2EnterpriseNode[] }
  | { version: 'v1'; items: V1Item[] };
