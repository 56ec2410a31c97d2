import type { NodeRecord } from '../nodes/node-record.js';
import { countryByCode, countryByName } from '../shared/countries.js';
import { knownText } from '../shared/known-text.js';
import { parseNodeName } from '../shared/node-name.js';
import type { TestResult } from '../webhook/test-result.js';
import { cleanTagValue } from './tag-value.js';

/** The node's tag values, cleaned for OpenTSDB. */
export interface NodeDimensions {
  readonly asn: string;
  readonly continent: string;
  readonly country: string;
  readonly region: string;
  readonly city: string;
  readonly isp: string;
}

/**
 * Tags for the node that ran the test: the node table first, the payload (`Asn`, `NodeName`
 * "City, CC - ISP") where the table has no record or no value.
 */
export function nodeDimensions(result: TestResult, node: NodeRecord | undefined): NodeDimensions {
  if (node === undefined) return dimensionsOf(result, node);
  // A node's record lives in the cache for minutes and its pushes name it the same way each time: its
  // dimensions are worked out once per record (and again if a payload says otherwise).
  const known = byNode.get(node);
  if (known && known.nodeName === result.nodeName && known.asn === result.asn) return known.dims;
  const dims = dimensionsOf(result, node);
  byNode.set(node, { nodeName: result.nodeName, asn: result.asn, dims });
  return dims;
}

const byNode = new WeakMap<NodeRecord, { nodeName?: string; asn?: number; dims: NodeDimensions }>();

function dimensionsOf(result: TestResult, node: NodeRecord | undefined): NodeDimensions {
  const fromName = parseNodeName(result.nodeName ?? node?.name ?? '');
  const code = node?.countryCode ?? fromName.countryCode;
  const byCode = code ? countryByCode(code) : undefined;
  const byName = node?.country ? countryByName(node.country) : undefined;
  return {
    asn: cleanTagValue(node?.asn ?? result.asn),
    continent: cleanTagValue(node?.continent ?? byName?.continent ?? byCode?.continent),
    country: cleanTagValue(node?.country ?? byCode?.name),
    region: cleanTagValue(node?.region),
    city: cleanTagValue(knownText(node?.city) ?? fromName.city),
    isp: cleanTagValue(knownText(node?.isp) ?? fromName.isp),
  };
}
