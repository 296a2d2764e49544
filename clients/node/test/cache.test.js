'use strict';
// CacheService through the Node client, with the app's Loader/Writer served
// by serveApp from this process: the sidecar calls a Node loader on a miss.
const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { CacheCar, serveApp, Unavailable, NotFound, InvalidArgument, FailedPrecondition,
  DeadlineExceeded, CacheCarError, Aborted } = require('..');
const { TARGET, APP_ADDRESS } = require('./helpers');

const app = { rows: new Map(), loads: [], writes: [], batches: [], delayMs: 0, failKeys: new Map() };
let server;
let cc;

before(async () => {
  server = await serveApp({
    address: APP_ADDRESS,
    load: async (namespace, key) => {
      app.loads.push(key);
      if (app.delayMs) await new Promise((r) => setTimeout(r, app.delayMs));
      if (app.failKeys.has(key)) throw app.failKeys.get(key);
      if (key === 'short-lived') return { value: 'brief', ttl: 30_000 };
      return app.rows.get(key) ?? null;
    },
    write: async (w) => {
      if (app.failKeys.has(w.key)) throw app.failKeys.get(w.key);
      app.writes.push(w);
      if (w.delete) app.rows.delete(w.key);
      else app.rows.set(w.key, w.value);
    },
    writeBatch: async (writes) => {
      app.batches.push(writes.length);
      for (const w of writes) {
        app.writes.push(w);
        if (w.delete) app.rows.delete(w.key);
        else app.rows.set(w.key, w.value);
      }
    },
  });
  cc = new CacheCar(TARGET, { timeout: 5000 });
});

after(async () => {
  cc.close();
  await server.close();
});

let run = 0;
let key;
beforeEach(() => {
  // The sidecar outlives each test: fresh keys instead of a flushed Redis.
  run += 1;
  key = (name) => `node-${run}-${name}`;
  app.rows.clear();
  app.loads.length = 0;
  app.writes.length = 0;
  app.batches.length = 0;
  app.delayMs = 0;
  app.failKeys.clear();
});

for (const ns of ['products', 'products-mc']) {
  test(`getOrLoad on ${ns}: a miss calls the Node loader once, then hits`, async () => {
    app.rows.set(key('42'), JSON.stringify({ name: 'tea' }));
    const first = await cc.getOrLoad(ns, key('42'));
    assert.equal(first.found, true);
    assert.deepEqual(JSON.parse(first.value), { name: 'tea' });
    assert.equal(first.source, 'SOURCE_LOADER');
    const second = await cc.getOrLoad(ns, key('42'));
    assert.equal(second.source, 'SOURCE_CACHE');
    assert.deepEqual(app.loads, [key('42')]);
  });
}

test('50 concurrent misses call the loader once', async () => {
  app.delayMs = 200;
  app.rows.set(key('7'), 'seven');
  const results = await Promise.all(Array.from({ length: 50 }, () => cc.getOrLoad('products', key('7'))));
  assert.deepEqual(new Set(results.map((r) => r.value.toString())), new Set(['seven']));
  assert.deepEqual(app.loads, [key('7')]);
});

test('null from the loader is found=false; {value, ttl} is a value', async () => {
  const missing = await cc.getOrLoad('products', key('nope'));
  assert.equal(missing.found, false);
  assert.equal(missing.value.length, 0);
  const brief = await cc.getOrLoad('products', 'short-lived');
  assert.equal(brief.value.toString(), 'brief');
});

test('getOrLoadMany reports a failed key alone', async () => {
  app.rows.set(key('a'), 'A');
  app.failKeys.set(key('bad'), new Unavailable('the database is down'));
  const results = await cc.getOrLoadMany('products', [key('a'), key('bad')]);
  assert.deepEqual(results.map((r) => r.found), [true, false]);
  assert.equal(results[1].error.reason, 'LOADER_UNAVAILABLE');
  assert.equal(results[0].error, null);
});

test('a loader bug reaches the caller as LOADER_FAILED without its message', async () => {
  app.failKeys.set(key('boom'), new TypeError('secret row details'));
  const err = await cc.getOrLoad('products', key('boom')).catch((e) => e);
  assert.ok(err instanceof CacheCarError);
  assert.equal(err.reason, 'LOADER_FAILED');
  assert.ok(!err.message.includes('secret row details'));
});

for (const ns of ['plain', 'products-mc']) {
  test(`set, get, invalidate on ${ns}`, async () => {
    assert.equal((await cc.get(ns, key('k'))).found, false);
    await cc.set(ns, key('k'), '', { ttl: 60_000 });
    const got = await cc.get(ns, key('k'));
    assert.equal(got.found, true); // an empty value is a value
    await cc.set(ns, key('j'), Buffer.from('v'));
    assert.equal(await cc.invalidate(ns, [key('k'), key('j'), key('absent')]), 2);
    assert.equal(await cc.invalidate(ns, key('k')), 0);
  });
}

test('writeThrough calls the Node writer, then caches; a failure leaves the cache', async () => {
  const { writeId: id, version } = await cc.writeThrough('products', key('9'), 'new', { withVersion: true });
  assert.deepEqual(app.writes.map((w) => [w.key, w.value.toString(), w.writeId, w.delete]), [
    [key('9'), 'new', id, false],
  ]);
  assert.ok(app.writes[0].acceptedAt instanceof Date);
  const cached = await cc.get('products', key('9'));
  assert.equal(cached.value.toString(), 'new');
  assert.ok(version > 0 && version === cached.version);
  app.failKeys.set(key('9'), new Unavailable('the database is down'));
  const err = await cc.writeThrough('products', key('9'), 'newer').catch((e) => e);
  assert.ok(err instanceof Unavailable);
  assert.equal(err.reason, 'WRITER_UNAVAILABLE');
  assert.equal((await cc.get('products', key('9'))).value.toString(), 'new');
});

test('enqueueWrite queues, coalesces and flushes to the Node writeBatch', async () => {
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await cc.enqueueWrite('orders', key('o1'), `v${i}`));
  await cc.enqueueWrite('orders', key('o2'), null, { delete: true });
  assert.equal((await cc.get('orders', key('o1'))).value.toString(), 'v4');
  assert.equal((await cc.getWriteQueue('orders')).pendingCount, 6);
  const flushed = await cc.flushWrites('orders', { timeout: 10_000 });
  assert.equal(flushed.pendingCount, 0);
  assert.deepEqual(app.writes.map((w) => w.key), [key('o1'), key('o2')]);
  assert.equal(app.writes[0].writeId, ids[4]);
  assert.equal(await cc.replayDeadLetters('orders'), 0);
});

test('enqueueWrite takes versions and conditions; a refused write is not queued', async () => {
  app.writes.length = 0;
  const k = key('ver');
  const five = await cc.enqueueWrite('orders', k, 'five', { version: 5, withVersion: true });
  assert.equal(five.version, 5);
  assert.equal(typeof five.writeId, 'string');
  await assert.rejects(cc.enqueueWrite('orders', k, 'three', { version: 3 }), (e) =>
    e instanceof FailedPrecondition && e.reason === 'VERSION_STALE' && e.metadata.current_version === '5');
  await assert.rejects(cc.enqueueWrite('orders', k, 'x', { ifAbsent: true }), (e) =>
    e instanceof Aborted && e.reason === 'VALUE_EXISTS');
  await assert.rejects(cc.enqueueWrite('orders', k, 'x', { ifVersion: 4 }), (e) =>
    e instanceof Aborted && e.reason === 'VERSION_MISMATCH');
  await assert.rejects(cc.enqueueWrite('orders', k, 'x', { tags: ['t'] }), RangeError);
  assert.equal(typeof (await cc.enqueueWrite('orders', k, 'six', { ifVersion: 5 })), 'string');
  assert.equal((await cc.getWriteQueue('orders')).pendingCount, 2);
  await cc.flushWrites('orders', { timeout: 10_000 });
  assert.deepEqual(app.writes.map((w) => [w.value.toString(), w.version]), [['six', 6]]);
});

test('errors are typed and carry the ErrorInfo reason', async () => {
  const unknown = await cc.get('no-such-namespace', 'k').catch((e) => e);
  assert.ok(unknown instanceof NotFound);
  assert.equal(unknown.reason, 'NAMESPACE_UNKNOWN');
  assert.equal(unknown.domain, 'cachecar');
  assert.equal(unknown.codeName, 'NOT_FOUND');
  const badKey = await cc.get('plain', '').catch((e) => e);
  assert.ok(badKey instanceof InvalidArgument);
  assert.equal(badKey.reason, 'KEY_INVALID');
  const noLoader = await cc.getOrLoad('plain', 'k').catch((e) => e);
  assert.ok(noLoader instanceof FailedPrecondition);
  assert.equal(noLoader.reason, 'LOADER_NOT_CONFIGURED');
});

test('every call has a deadline', async () => {
  app.delayMs = 3000;
  app.rows.set(key('slow'), 'v');
  const err = await cc.getOrLoad('products', key('slow'), { timeout: 300 }).catch((e) => e);
  assert.ok(err instanceof DeadlineExceeded, String(err));
  const short = new CacheCar(TARGET, { timeout: 300 });
  try {
    const err2 = await short.getOrLoad('products', key('slow2')).catch((e) => e);
    assert.ok(err2 instanceof DeadlineExceeded, String(err2));
  } finally {
    short.close();
  }
});

test('versions, conditions, tags, batches and touch', async () => {
  for (const ns of ['products', 'products-mc']) {
    const key = `ver-${ns}-${Date.now()}`;
    assert.equal(await cc.set(ns, key, 'a', { ifAbsent: true }), 1);
    await assert.rejects(cc.set(ns, key, 'b', { ifVersion: 7 }), (e) =>
      e instanceof Aborted && e.reason === 'VERSION_MISMATCH' && e.metadata.current_version === '1');
    assert.equal(await cc.set(ns, key, 'c', { version: 10 }), 10);
    await assert.rejects(cc.set(ns, key, 'old', { version: 9 }), (e) =>
      e instanceof FailedPrecondition && e.reason === 'VERSION_STALE');
    assert.equal((await cc.get(ns, key)).version, 10);
    assert.equal(await cc.touch(ns, key, { ttl: 600_000 }), true);
    const results = await cc.setMany(ns, [
      { key: `${key}-t`, value: '1', tags: ['grp'] },
      { key, value: 'x', version: 1 },
    ]);
    assert.deepEqual(results.map((r) => [r.stored, r.error ? r.error.reason : '']), [[true, ''], [false, 'VERSION_STALE']]);
    await cc.invalidateTags(ns, 'grp');
    const got = await cc.getMany(ns, [`${key}-t`, key]);
    assert.deepEqual(got.map((r) => r.found), [false, true]);
    assert.equal(await cc.invalidate(ns, key, { version: 11 }), 1);
    await assert.rejects(cc.set(ns, key, 'back', { version: 10 }), FailedPrecondition);
  }
});
