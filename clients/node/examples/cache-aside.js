'use strict';
/**
 * Cache-aside with cachecar: the hand-written getProduct() (and its Memcached twin).
 *
 * The snippet did redis.get -> miss -> fetchFromDatabase -> redis.set in every
 * service, and read the database once per concurrent miss. Here the app only
 * says how to load a product (a plain async function served as its
 * LoaderService); cachecar caches it, and 100 callers missing the same key at
 * once cost ONE database read, on Redis and on Memcached alike.
 */
const { CacheCar, serveApp } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';
const APP_ADDRESS = process.env.CACHECAR_APP_ADDRESS ?? '127.0.0.1:50071';

const DATABASE = new Map([['42', { id: 42, name: 'Green tea', price: 4.5 }]]);
let dbReads = 0;

/** The app's loader: cachecar calls it on a miss (never more than once per key at a time). */
async function fetchFromDatabase(namespace, productId) {
  dbReads += 1;
  await new Promise((r) => setTimeout(r, 200)); // a slow query: where a stampede piles up
  const row = DATABASE.get(productId);
  return row ? JSON.stringify(row) : null;
}

/** The whole of getProduct(): cachecar does the get, the load and the set. */
async function getProduct(cc, namespace, productId) {
  const { found, value } = await cc.getOrLoad(namespace, productId);
  return found ? JSON.parse(value) : null;
}

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

async function main() {
  const app = await serveApp({ load: fetchFromDatabase, address: APP_ADDRESS });
  const cc = new CacheCar(TARGET);
  try {
    for (const ns of ['products', 'products-mc']) {
      await cc.invalidate(ns, ['42', '999']); // start from a cold cache
      dbReads = 0;
      const products = await Promise.all(Array.from({ length: 100 }, () => getProduct(cc, ns, '42')));
      console.log(`[${ns}] 100 concurrent getProduct(42) on a cold cache -> ${dbReads} database read ` +
        `(the snippet would do 100): ${JSON.stringify(products[0])}`);
      check(dbReads === 1, 'one read');
      const again = await cc.getOrLoad(ns, '42');
      console.log(`[${ns}] next call: ${again.source}, database reads still ${dbReads}`);
      check(again.source === 'SOURCE_CACHE' && dbReads === 1, 'a hit');
      let missing;
      for (let i = 0; i < 2; i++) missing = await getProduct(cc, ns, '999');
      console.log(`[${ns}] product 999 does not exist: ${missing}; asked twice, read once ` +
        `(cachecar caches 'not found' too): reads=${dbReads}`);
      check(missing === null && dbReads === 2, 'negative caching');
    }
  } finally {
    cc.close();
    await app.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
