/** `metric{k1=v1,k2=v2}` with tag keys sorted: one series' identity, as OpenTSDB and VictoriaMetrics see it. */
export function seriesKey(metric: string, tags: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`);
  return `${metric}{${pairs.join(',')}}`;
}
