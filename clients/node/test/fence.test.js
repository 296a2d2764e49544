'use strict';
// WriteFence: a former owner's late batch (lower owner epoch) is refused per key.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { WriteFence } = require('..');

const w = (key, ownerEpoch, sequence, value) => ({ namespace: 'ns', key, ownerEpoch, sequence, value });
const seq = (ms, n = 0) => `${String(ms).padStart(16, '0')}-${String(n).padStart(10, '0')}`;

test('a late batch from a former owner is refused; newer writes pass', () => {
  const fence = new WriteFence();
  const newer = [w('a', 2, seq(200), 'new'), w('b', 2, seq(201), 'new')];
  assert.deepEqual(fence.fresh(newer), newer);
  fence.applied(newer);
  const late = [w('a', 1, seq(100), 'old'), w('b', 1, seq(150), 'old'), w('c', 1, seq(160), 'c')];
  assert.deepEqual(fence.fresh(late).map((x) => x.key), ['c']); // c was never written
  assert.equal(fence.refused, 2);
  assert.deepEqual(fence.appliedMark('ns', 'a'), [2, seq(200)]);
});

test('within one epoch the sequence orders; a redelivery is refused; write-through passes', () => {
  const fence = new WriteFence();
  fence.applied([w('a', 3, seq(300, 1), 'x')]);
  assert.equal(fence.fresh([w('a', 3, seq(300, 1), 'x')]).length, 0); // the same write again
  assert.equal(fence.fresh([w('a', 3, seq(300, 2), 'y')]).length, 1);
  assert.equal(fence.fresh([w('a', 0, '', 'through')]).length, 1);
});
