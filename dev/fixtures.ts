// The fixtures under test/fixtures, read by the tests, `npm run bench` and `npm run load` alike.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');

/** The fixtures' node list (nodes 77, 79 and 81), as `NODES_FILE` takes it. */
export const FIXTURE_NODES_FILE = join(FIXTURES_DIR, 'nodes', 'v1-items.json');

/** Receipt time used with the fixtures: the day after their runs (2026-11-25T00:00:00Z). */
export const FIXTURE_RECEIVED_AT_MS = Date.UTC(2026, 10, 25);

/** A fixture file's text, e.g. `fixture('push/v4-ping.json')`. */
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}

/** The push fixtures' file names (test/fixtures/push/*.json), sorted. */
export function pushFixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, 'push'))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** A push fixture's text, by file name. */
export function pushFixture(name: string): string {
  return fixture(join('push', name));
}
