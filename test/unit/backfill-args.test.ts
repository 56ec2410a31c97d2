// `npm run backfill` flags as parseBackfillArgs reads them (the command's own exits: backfill-cli.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBackfillArgs, UsageError } from '../../scripts/backfill/args.js';

const TESTS = ['--tests', '101'];

describe('parseBackfillArgs', () => {
  for (const [flag, value] of [
    ['--from', '2026-11-31'],
    ['--from', '2026-02-30T10:00:00Z'],
    ['--from', '2027-02-29'],
    ['--from', '2026-13-01'],
    ['--to', '2026-11-31T00:00:00+02:00'],
  ] as const) {
    it(`refuses a day the calendar does not have: ${flag} ${value}`, () => {
      const times =
        flag === '--from' ? ['--from', value, '--to', '2028-01-01'] : ['--from', '2026-11-01', '--to', value];
      assert.throws(
        () => parseBackfillArgs([...TESTS, ...times]),
        (error: unknown) =>
          error instanceof UsageError && error.message.includes(`${flag}: "${value}" is not a UTC time`),
      );
    });
  }

  it('takes real days, offsets included', () => {
    const args = parseBackfillArgs([...TESTS, '--from', '2028-02-29', '--to', '2028-03-01T01:00+02:00']);
    assert.equal(args.fromMs, Date.UTC(2028, 1, 29));
    assert.equal(args.toMs, Date.UTC(2028, 1, 29, 23));
  });

  it('names the same tests the same way in any order, so --resume finds the checkpoint', () => {
    const window = ['--from', '2026-11-20', '--to', '2026-11-21'];
    const a = parseBackfillArgs(['--tests', '102,101,102', ...window]);
    const b = parseBackfillArgs(['--tests', '101, 102', ...window]);
    assert.deepEqual(a.tests, [101, 102]);
    assert.deepEqual(b.tests, a.tests);
  });
});
