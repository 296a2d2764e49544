'use strict';
/**
 * A change feed driving versioned invalidation (the CacheFront recipe).
 *
 * A durable cachecar channel (a Redis Stream) stands in for a CDC feed
 * (Debezium, DynamoDB Streams, Postgres logical decoding): every commit
 * publishes {key, version}, and the consumer turns it into
 * invalidate(key, {version}), which leaves a tombstone of that version. The
 * loader reads a lagging replica, so right after a commit it returns the old
 * row: its fill is refused, and the cache never holds the old row again. A
 * redelivered old event is a no-op against the newer cached value.
 */
const { CacheCar, serveApp } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';
const APP_ADDRESS = process.env.CACHECAR_APP_ADDRESS ?? '127.0.0.1:50071';
const [NS, FEED_NS, FEED] = ['products', 'events', 'orders.cdc'];
const KEY = `cdc-node-${process.pid}`;

const primary = new Map([[KEY, { value: 'price 4.50', version: 1 }]]);
const replica = new Map(primary); // what the loader reads: catches up later

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

/** The next message of the feed, applied as a versioned Invalidate; bounded. */
async function applyNext(cc, events) {
  const timeout = new Promise((_, reject) => {
    setTimeout(() => reject(new Error('no change event within 10s')), 10_000).unref();
  });
  for (;;) {
    const { value: event, done } = await Promise.race([events.next(), timeout]);
    if (done) throw new Error('the feed ended');
    if (event.type !== 'message') continue;
    const change = JSON.parse(event.payload.toString());
    return cc.invalidate(NS, change.key, { version: change.version });
  }
}

async function main() {
  const app = await serveApp({ address: APP_ADDRESS, load: async (ns, key) => replica.get(key) ?? null });
  const cc = new CacheCar(TARGET);
  try {
    const feed = cc.subscribe(FEED_NS, [FEED]);
    await feed.ready();
    // One iterator for the whole run: leaving a for-await loop would close the feed.
    const events = feed[Symbol.asyncIterator]();
    const first = await cc.getOrLoad(NS, KEY);
    console.log(`cached ${first.value} at version ${first.version}`);
    check(first.version === 1, 'version 1 cached');

    primary.set(KEY, { value: 'price 5.00', version: 2 }); // the commit, and its change event
    await cc.publish(FEED_NS, FEED, JSON.stringify({ key: KEY, version: 2 }));
    console.log(`change feed: invalidated ${await applyNext(cc, events)} entry (tombstone v2)`);
    const lagging = await cc.getOrLoad(NS, KEY);
    const cached = await cc.get(NS, KEY);
    console.log(`lagging replica served ${lagging.value} (v${lagging.version}); cached afterwards: ${cached.found}`);
    check(!cached.found, "the old row's fill is refused by the tombstone");

    replica.set(KEY, primary.get(KEY)); // the replica catches up
    const fresh = await cc.getOrLoad(NS, KEY);
    console.log(`after catch-up: ${fresh.value} at version ${fresh.version}`);
    check(fresh.version === 2, 'version 2 cached');

    await cc.publish(FEED_NS, FEED, JSON.stringify({ key: KEY, version: 1 })); // redelivered
    const removed = await applyNext(cc, events);
    const still = await cc.get(NS, KEY);
    console.log(`replayed v1 event removed ${removed}; cached v${still.version}`);
    check(removed === 0 && still.version === 2, 'a replayed old change is a no-op');
    await events.return();
  } finally {
    cc.close();
    await app.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
