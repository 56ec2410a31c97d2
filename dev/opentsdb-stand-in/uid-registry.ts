// The TSD's UID tables: which metric names, tag names and tag values exist, and their 3-byte UIDs.

export type UidType = 'metric' | 'tagk' | 'tagv';
export const UID_TYPES: readonly UidType[] = ['metric', 'tagk', 'tagv'];

export class UidRegistry {
  /** Metric names a put may use (`tsd.core.auto_create_metrics` adds to it; tests may too). */
  readonly knownMetrics = new Set<string>();
  private readonly uids: Record<UidType, Map<string, string>> = {
    metric: new Map(),
    tagk: new Map(),
    tagv: new Map(),
  };
  private readonly uidCounters: Record<UidType, number> = { metric: 0, tagk: 0, tagv: 0 };

  /** `knownMetrics` get UIDs 000001, 000002, ... in order. */
  constructor(
    knownMetrics: readonly string[],
    private readonly autoCreateMetrics: boolean,
  ) {
    for (const name of knownMetrics) {
      this.knownMetrics.add(name);
      this.uidOf('metric', name);
    }
  }

  /** The name's UID, assigned on first use. */
  uidOf(type: UidType, name: string): string {
    const existing = this.uids[type].get(name);
    if (existing !== undefined) return existing;
    this.uidCounters[type] += 1;
    const uid = this.uidCounters[type].toString(16).toUpperCase().padStart(6, '0');
    this.uids[type].set(name, uid);
    return uid;
  }

  nameExists(type: UidType, name: string): boolean {
    return type === 'metric' ? this.knownMetrics.has(name) : this.uids[type].has(name);
  }

  /** Whether a put may write `metric`: known already, or created now when auto-creation is on. */
  admitsMetric(metric: string): boolean {
    if (this.knownMetrics.has(metric)) return true;
    if (!this.autoCreateMetrics) return false;
    this.knownMetrics.add(metric);
    return true;
  }
}
