import { isPlaceholder } from './known-text.js';

/** What a Catchpoint node name `<city>, <CC> - <isp>` tells, when it has that shape. */
export interface NodeNameParts {
  city?: string;
  countryCode?: string;
  isp?: string;
}

/**
 * Reads `<city>, <CC> - <isp>`: the ISP follows the first " - " after the country code, the code is the
 * two letters after the last comma before that " - ", the city is everything before that comma.
 * ("Washington, D.C., US - AT&T" → city "Washington, D.C.", code "US", ISP "AT&T".)
 */
export function parseNodeName(name: string): NodeNameParts {
  // The lazy city group stops at the first ", CC" followed by " - " or the end; the ISP keeps any further
  // " - " it contains.
  const match = /^(.*?),\s*([A-Za-z]{2})(?:\s+-(?:\s+(.*))?)?$/s.exec(name.trim());
  if (!match) return {};
  const parts: NodeNameParts = { countryCode: match[2]!.toUpperCase() };
  const city = match[1]!.trim();
  const isp = match[3]?.trim();
  // "Tokyo, JP - N/A": a placeholder says nothing, and must become neither a tag nor a node's attribute.
  if (city && !isPlaceholder(city)) parts.city = city;
  if (isp && !isPlaceholder(isp)) parts.isp = isp;
  return parts;
}
