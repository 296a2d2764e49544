'use strict';
// Sessions, leaderboards/counters and pub/sub through the Node client. An
// UNIMPLEMENTED answer fails the test: every RPC of the protos is served.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { CacheCar, Aborted, NotFound, FailedPrecondition, InvalidArgument, toDate } = require('..');
const { TARGET } = require('./helpers');

const cc = new CacheCar(TARGET);
after(() => cc.close());
const unique = `${process.pid}-${Date.now()}`;

for (const ns of ['sessions', 'sessions-mc']) {
  test(`session lifecycle on ${ns}`, async () => {
    const created = await cc.createSession(ns, 'alice', { role: 'admin' }, { ttl: 600_000 });
    const sid = created.sessionId;
    assert.equal(created.version, 1);
    assert.ok(toDate(created.expiresAt) > new Date(Date.now() - 60_000));
    const got = await cc.getSession(ns, sid);
    assert.equal(got.data.role.toString(), 'admin');
    assert.equal(got.subject, 'alice');
    const updated = await cc.updateSession(ns, sid, { cart: '[1]' }, ['role'], { expectedVersion: 1 });
    assert.deepEqual(Object.keys(updated.data), ['cart']);
    assert.equal(updated.version, 2);
    const stale = await cc.updateSession(ns, sid, { cart: '[]' }, [], { expectedVersion: 1 }).catch((e) => e);
    assert.ok(stale instanceof Aborted);
    assert.equal(stale.reason, 'SESSION_VERSION_MISMATCH');
    assert.equal((await cc.touchSession(ns, sid)).version, 2);
    assert.equal(await cc.deleteSession(ns, sid), true);
    assert.equal(await cc.deleteSession(ns, sid), false);
    const gone = await cc.getSession(ns, sid).catch((e) => e);
    assert.ok(gone instanceof NotFound);
    assert.equal(gone.reason, 'SESSION_NOT_FOUND');
  });
}

test('subject revocation on Redis; Memcached says NOT_SUPPORTED_BY_BACKEND', async () => {
  const subject = `bob-${unique}`;
  for (let i = 0; i < 3; i++) await cc.createSession('sessions', subject);
  assert.equal(await cc.deleteSubjectSessions('sessions', subject), 3);
  const err = await cc.deleteSubjectSessions('sessions-mc', subject).catch((e) => e);
  assert.ok(err instanceof FailedPrecondition);
  assert.equal(err.reason, 'NOT_SUPPORTED_BY_BACKEND');
});

test('leaderboard: scores, modes, top, rank, around, remove', async () => {
  const board = `weekly-${unique}`;
  for (const [member, score] of [['ann', 30], ['bo', 10], ['cy', 20]]) {
    await cc.addScore('games', board, member, score);
  }
  const bumped = await cc.addScore('games', board, 'bo', 25, { mode: 'increment' });
  assert.deepEqual([bumped.score, bumped.rank], [35, 1]);
  const kept = await cc.addScore('games', board, 'ann', 5, { mode: 'keep_greater' });
  assert.deepEqual([kept.updated, kept.score], [false, 30]);
  const top = await cc.getTop('games', board, { limit: 2 });
  assert.deepEqual(top.entries.map((e) => [e.member, e.rank]), [['bo', 1], ['ann', 2]]);
  assert.equal(top.memberCount, 3);
  const rank = await cc.getRank('games', board, 'cy');
  assert.deepEqual([rank.entry.rank, rank.entry.score], [3, 20]);
  const around = await cc.getAround('games', board, 'ann', { count: 1 });
  assert.deepEqual(around.entries.map((e) => e.member), ['bo', 'ann', 'cy']);
  assert.equal(await cc.removeMember('games', board, 'cy'), true);
  const missing = await cc.getRank('games', board, 'cy').catch((e) => e);
  assert.ok(missing instanceof NotFound);
  assert.equal(missing.reason, 'MEMBER_NOT_FOUND');
});

test('counters, with a window', async () => {
  const counter = `logins-${unique}`;
  assert.equal((await cc.getCounter('games', counter)).found, false);
  const first = await cc.incrementCounter('games', counter, 1, { window: 60_000 });
  const second = await cc.incrementCounter('games', counter, 2);
  assert.deepEqual([first.value, second.value], [1, 3]);
  assert.ok(first.windowEndsAt);
  assert.equal((await cc.getCounter('games', counter)).value, 3);
  assert.ok((await cc.incrementCounter('games', counter, 0).catch((e) => e)) instanceof InvalidArgument);
  const err = await cc.getCounter('products-mc', counter).catch((e) => e);
  assert.equal(err.reason, 'NOT_SUPPORTED_BY_BACKEND');
});

test('publish reaches an active subscription (async iterator)', async () => {
  const sub = cc.subscribe('events', [`news-${unique}`], { patterns: [`alerts-${unique}.*`] });
  const subscribed = await sub.ready();
  assert.deepEqual(subscribed.channels, [`news-${unique}`]);
  const sent = await cc.publish('events', `news-${unique}`, 'hello');
  assert.equal(sent.localReceiverCount, 1);
  await cc.publish('events', `alerts-${unique}.fire`, Buffer.from('hot'));
  const got = [];
  for await (const event of sub) {
    assert.equal(event.type, 'message');
    got.push([event.channel, event.pattern, event.payload.toString()]);
    if (got.length === 2) break;
  }
  assert.deepEqual(got, [
    [`news-${unique}`, '', 'hello'],
    [`alerts-${unique}.fire`, `alerts-${unique}.*`, 'hot'],
  ]);
});

test('a durable subscriber resumes after its last message', async () => {
  const channel = `audit.${unique}`;
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await cc.publish('events', channel, `m${i}`)).messageId);
  assert.ok(ids.every(Boolean));
  const sub = cc.subscribe('events', [channel], { resumeIds: { [channel]: ids[0] } });
  const got = [];
  for await (const event of sub) {
    got.push([event.messageId, event.payload.toString()]);
    if (got.length === 2) break;
  }
  assert.deepEqual(got, [[ids[1], 'm1'], [ids[2], 'm2']]);
});

test('subscription errors are typed', async () => {
  const err = await cc.subscribe('events', []).ready().catch((e) => e);
  assert.ok(err instanceof InvalidArgument, String(err));
});
