import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOWN_AFTER, PoisonEvidence } from '../../lambda/spool/poison-evidence.js';

describe('poison evidence', () => {
  it('a write failed whole says nothing until another is stored; then its runs go alone, and those that fail are charged', () => {
    const e = new PoisonEvidence<string>();
    assert.equal(e.inFlightLimit(40), 1, 'one write until one is stored');
    const head = e.start();
    e.failedWhole(head, ['a', 'b', 'c'], 'HTTP 500');
    assert.deepEqual(e.takeShown(), []);
    assert.equal(e.inFlightLimit(40), 2, 'the next batch goes beside the next probe');
    const next = e.start();
    e.stored();
    assert.equal(e.inFlightLimit(40), 40);
    assert.deepEqual(e.takeShown(), [['a', 'b', 'c']]);
    // Each run alone, at once: b fails again (a suspected run: no sign of an outage), a and c are stored.
    const alone = e.start();
    e.start();
    e.failedWhole(alone, ['b'], 'HTTP 500', true);
    e.stored();
    e.finished('a');
    e.finished('c');
    assert.equal(e.inFlightLimit(40), 40);
    assert.equal(next, 0);
    assert.deepEqual(e.charged(), [['b', 'HTTP 500']]);
    assert.deepEqual(e.uncharged(), []);
  });

  it('a run that failed beside stored points is charged at once', () => {
    const e = new PoisonEvidence<string>();
    const w = e.start();
    e.stored();
    e.failedBeside(w, ['x'], 'Storage exception');
    assert.deepEqual(e.charged(), [['x', 'Storage exception']]);
  });

  it('failures with nothing stored after them charge nothing, and enough in a row mean OpenTSDB is down', () => {
    const e = new PoisonEvidence<string>();
    e.stored();
    for (let i = 0; i < DOWN_AFTER - 1; i++) e.failedWhole(e.start(), [`r${i}`], 'ECONNREFUSED');
    assert.equal(e.down, false);
    e.failedWhole(e.start(), ['g1', 'g2'], 'ECONNREFUSED');
    assert.equal(e.down, true);
    assert.deepEqual(e.charged(), []);
    assert.equal(e.uncharged().length, DOWN_AFTER + 1);
    assert.deepEqual(e.failingSinceStored, { writes: DOWN_AFTER, reason: 'ECONNREFUSED' });
  });

  it('splits the smallest unexplained group first', () => {
    const e = new PoisonEvidence<string>();
    e.failedWhole(e.start(), ['a', 'b', 'c'], 'x');
    e.failedWhole(e.start(), ['d', 'e'], 'x');
    assert.deepEqual(e.takeUnexplained(), ['d', 'e']);
    assert.deepEqual(e.takeUnexplained(), ['a', 'b', 'c']);
    assert.equal(e.takeUnexplained(), undefined);
  });
});
