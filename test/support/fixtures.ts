import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A fixture file's text, e.g. `fixture('push/v4-ping.json')`. */
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}

export function pushFixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, 'push'))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** Receipt time used with the fixtures: the day after their runs (2026-11-25T00:00:00Z). */
export const FIXTURE_RECEIVED_AT_MS = Date.UTC(2026, 10, 25);
