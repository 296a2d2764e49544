'use strict';
/**
 * Write-through with cachecar: the hand-written updateProduct().
 *
 * The snippet wrote the database, then redis.set - and a cache-aside read that
 * loaded the old row just before the update could store it just after. Here
 * the app calls writeThrough; cachecar calls the app's writer first and
 * updates the cache only once the write succeeded, and a failed write leaves
 * the cache untouched and reaches the caller as a typed error.
 */
const { CacheCar, serveApp, Unavailable } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';
const APP_ADDRESS = process.env.CACHECAR_APP_ADDRESS ?? '127.0.0.1:50071';

const DATABASE = new Map([['42', Buffer.from(JSON.stringify({ name: 'Green tea', price: 4.5 }))]]);
let databaseUp = true;

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

async function main() {
  const app = await serveApp({
    address: APP_ADDRESS,
    load: async (namespace, id) => DATABASE.get(id) ?? null,
    // The app's writer: cachecar calls it first, and caches only if it succeeds.
    write: async (w) => {
      if (!databaseUp) throw new Unavailable('the products database is down'); // WRITER_UNAVAILABLE
      DATABASE.set(w.key, w.value);
    },
  });
  const cc = new CacheCar(TARGET);
  try {
    await cc.invalidate('products', '42');
    const before = await cc.getOrLoad('products', '42');
    console.log(`cached before the update: ${before.value}`);

    const data = JSON.stringify({ name: 'Green tea', price: 3.9 });
    const writeId = await cc.writeThrough('products', '42', data); // updateProduct(42, data)
    const cached = await cc.get('products', '42');
    console.log(`updateProduct(42) -> write ${writeId}: database=${DATABASE.get('42')}, cache=${cached.value}`);
    check(DATABASE.get('42').toString() === data && cached.value.toString() === data, 'both agree');

    databaseUp = false;
    const err = await cc.writeThrough('products', '42', JSON.stringify({ price: 0 })).catch((e) => e);
    check(err instanceof Unavailable && err.reason === 'WRITER_UNAVAILABLE', 'the failure is reported');
    console.log(`with the database down the update fails: ${err.name} ${err.reason} - ${err.message}`);
    const still = await cc.get('products', '42');
    console.log(`...and the cache still holds what the database holds: ${still.value}`);
    check(still.value.equals(DATABASE.get('42')), 'a failed write leaves the cache alone');
  } finally {
    cc.close();
    await app.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
