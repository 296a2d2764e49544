'use strict';
// The retry policy, against an address where nothing listens (no sidecar needed).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { CacheCar, Unavailable, NoRetry, ExponentialBackoff } = require('..');

async function deadAddress() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}

class CountingBackoff {
  constructor(attempts = 3) {
    this.attempts = attempts;
    this.asked = [];
  }
  delay(failures) {
    this.asked.push(failures);
    return failures < this.attempts ? 10 : null;
  }
}

test('UNAVAILABLE is retried only on idempotent calls', async () => {
  const backoff = new CountingBackoff();
  const cc = new CacheCar(await deadAddress(), { timeout: 5000, backoff });
  try {
    const err = await cc.getOrLoad('products', '42').catch((e) => e);
    assert.ok(err instanceof Unavailable);
    assert.equal(err.reason, ''); // the transport's status, not the sidecar's
    assert.deepEqual(backoff.asked, [1, 2, 3]);
    backoff.asked = [];
    for (const call of [
      () => cc.writeThrough('products', '42', 'v'),
      () => cc.enqueueWrite('orders', '42', 'v'),
      () => cc.incrementCounter('games', 'c'),
      () => cc.addScore('games', 'b', 'm', 1, { mode: 'increment' }),
      () => cc.publish('events', 'news', 'x'),
      () => cc.createSession('sessions', 'al'),
    ]) {
      assert.ok((await call().catch((e) => e)) instanceof Unavailable);
    }
    assert.deepEqual(backoff.asked, []);
    await cc.addScore('games', 'b', 'm', 1, { mode: 'keep_greater' }).catch((e) => e);
    assert.deepEqual(backoff.asked, [1, 2, 3]);
  } finally {
    cc.close();
  }
});

test('retries stop at the deadline, and NoRetry never retries', async () => {
  const slow = { delay: () => 10_000 };
  const cc = new CacheCar(await deadAddress(), { timeout: 500, backoff: slow });
  const none = new CacheCar(await deadAddress(), { backoff: new NoRetry() });
  try {
    assert.ok((await cc.get('plain', 'k').catch((e) => e)) instanceof Unavailable);
    assert.ok((await none.get('plain', 'k').catch((e) => e)) instanceof Unavailable);
  } finally {
    cc.close();
    none.close();
  }
});

test('ExponentialBackoff is capped, jittered and bounded', () => {
  const b = new ExponentialBackoff({ baseMs: 100, capMs: 250, maxAttempts: 3 });
  for (let i = 0; i < 20; i++) {
    assert.ok(b.delay(1) >= 0 && b.delay(1) <= 100);
    assert.ok(b.delay(2) <= 200);
  }
  assert.equal(b.delay(3), null);
});
