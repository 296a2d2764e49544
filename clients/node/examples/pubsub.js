'use strict';
/**
 * Pub/Sub with cachecar: the hand-written publisher / subscriber pair.
 *
 * The snippet needed a dedicated Redis connection per subscriber and lost
 * every message published while a subscriber was away. Through cachecar, one
 * Redis connection per sidecar feeds every subscriber, a subscription is
 * confirmed active before the app relies on it, and durable channels (Redis
 * Streams) let a subscriber resume after its last message.
 */
const { CacheCar } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

/** The next `count` messages of a subscription, then it is closed (bounded: no hang). */
async function take(sub, count) {
  const timer = setTimeout(() => sub.cancel(), 10_000);
  const got = [];
  try {
    for await (const event of sub) {
      if (event.type !== 'message') continue;
      got.push(event);
      if (got.length === count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  check(got.length === count, `${count} message(s) within 10s`);
  return got;
}

async function main() {
  const cc = new CacheCar(TARGET);
  try {
    // Fire-and-forget (Redis Pub/Sub): the hand-written snippet's "notifications" channel.
    const subscriber = cc.subscribe('events', ['notifications']);
    const { channels } = await subscriber.ready(); // active: nothing published from now on is missed
    console.log(`subscribed to ${JSON.stringify(channels)}`);
    const sent = await cc.publish('events', 'notifications', 'New order received');
    const [message] = await take(subscriber, 1);
    console.log(`message from ${message.channel}: ${message.payload} (delivered to ${sent.receiverCount} subscriber)`);
    check(message.payload.toString() === 'New order received', 'fan-out');

    // Durable (Redis Streams): a subscriber that goes away misses nothing.
    const channel = 'orders.created';
    const worker = cc.subscribe('events', [channel]);
    await worker.ready();
    await cc.publish('events', channel, 'order 1');
    const [first] = await take(worker, 1);
    const lastId = first.messageId; // the app stores this after processing
    console.log(`worker processed ${first.payload} (id ${lastId}), then disconnected`);
    for (const n of [2, 3]) await cc.publish('events', channel, `order ${n}`);
    console.log('orders 2 and 3 were published while the worker was away');
    const resumed = cc.subscribe('events', [channel], { resumeIds: { [channel]: lastId } });
    const caughtUp = (await take(resumed, 2)).map((m) => m.payload.toString());
    console.log(`worker resumed after ${lastId} and received ${JSON.stringify(caughtUp)}`);
    check(caughtUp.join() === 'order 2,order 3', 'durable resume');
  } finally {
    cc.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
