'use strict';
/**
 * Write-behind with cachecar: the hand-written writeBehindUpdate().
 *
 * The snippet set the cache and scheduled updateDatabase with setTimeout: one
 * database write per update, and every pending write lost when the process
 * exits. Here enqueueWrite updates the cache and a durable queue in Redis in
 * one atomic step; cachecar flushes it in coalesced batches to the app's
 * WriteBatch, retries while the app is down, and loses nothing.
 */
const { CacheCar, serveApp } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';
const APP_ADDRESS = process.env.CACHECAR_APP_ADDRESS ?? '127.0.0.1:50071';

const DATABASE = new Map();
const batches = [];
const applied = new Set();

/** The app's WriteBatch: one transaction per batch, idempotent per writeId. */
async function updateDatabase(writes) {
  batches.push(writes.length);
  for (const w of writes) {
    if (applied.has(w.writeId)) continue; // at-least-once: drop a redelivered write
    applied.add(w.writeId);
    DATABASE.set(w.key, w.value.toString());
  }
}

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

async function main() {
  const cc = new CacheCar(TARGET);
  let app = await serveApp({ writeBatch: updateDatabase, address: APP_ADDRESS });
  try {
    for (let price = 0; price < 10; price++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => cc.enqueueWrite('orders', `p${i}`, JSON.stringify({ price }))),
      );
    }
    const cached = await cc.get('orders', 'p7');
    const queued = await cc.getWriteQueue('orders');
    console.log(`200 writeBehindUpdate() calls returned; the cache already answers p7=${cached.value}; ` +
      `queue: ${queued.pendingCount} pending`);
    const flushed = await cc.flushWrites('orders', { timeout: 15_000 });
    const rows = batches.reduce((a, b) => a + b, 0);
    console.log(`flushed: ${rows} rows reached the database in ${batches.length} batch(es) - 200 updates ` +
      `coalesced to the last one per product; pending=${flushed.pendingCount}`);
    check(DATABASE.get('p7') === cached.value.toString() && flushed.pendingCount === 0, 'coalesced flush');

    // The app goes away with writes pending: with setTimeout they were lost.
    await app.close();
    for (let i = 0; i < 5; i++) await cc.enqueueWrite('orders', `late${i}`, '{"price": 1}');
    const stuck = await cc.flushWrites('orders', { timeout: 1000 });
    console.log(`app down: ${stuck.pendingCount} writes wait in Redis (not in any process) and are retried`);
    check(stuck.pendingCount === 5, 'writes stay queued while the writer is down');

    app = await serveApp({ writeBatch: updateDatabase, address: APP_ADDRESS });
    const done = await cc.flushWrites('orders', { timeout: 15_000 });
    const late = [...DATABASE.keys()].filter((k) => k.startsWith('late')).sort();
    console.log(`app back: pending=${done.pendingCount}, delivered ${late.join(', ')}`);
    check(done.pendingCount === 0 && late.length === 5, 'nothing lost');
  } finally {
    cc.close();
    await app.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
