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
  const match = /^(.*?),\s*([A-Za-z]{2})\s+-\s+(.*)$/s.exec(name.trim());
  if (match) {
    // The lazy city group stops at the first ", CC - "; the ISP keeps any further " - " it contains.
    const city = match[1]!.trim();
    const isp = match[3]!.trim();
    return {
      city: city || undefined,
      countryCode: match[2]!.toUpperCase(),
      isp: isp || undefined,
    };
  }
  const noIsp = /^(.*),\s*([A-Za-z]{2})\s*$/s.exec(name.trim());
  if (noIsp) return { city: noIsp[1]!.trim() || undefined, countryCode: noIsp[2]!.toUpperCase() };
  return {};
}
