'use strict';
/**
 * Session store with cachecar: the hand-written redis.set(`session:${id}`, ..., "EX", 3600).
 *
 * The snippet stored a JSON blob under an id the app had to generate, with a
 * fixed expiry: an active user is logged out after an hour, and there is no
 * way to log a user out everywhere. cachecar generates 128-bit ids, keeps
 * fields separately (per-field, compare-and-set updates), slides the expiry
 * on every use up to an absolute maximum, and revokes all of a user's
 * sessions at once.
 */
const { CacheCar, Aborted, NotFound, toDate } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';
const IDLE_TTL_MS = 2000; // short, so the sliding expiry shows in a few seconds
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

async function main() {
  const cc = new CacheCar(TARGET);
  try {
    const session = await cc.createSession('sessions', 'user123', { userId: '123', role: 'admin' }, { ttl: IDLE_TTL_MS });
    const sid = session.sessionId; // a bearer secret: never print or log it
    console.log(`session created for ${session.subject}: version ${session.version}, idle TTL 2s, ` +
      `absolute expiry ${toDate(session.absoluteExpiresAt).toISOString()}`);

    let got;
    for (let i = 0; i < 2; i++) {
      await sleep(1200);
      got = await cc.getSession('sessions', sid); // each read slides the expiry
    }
    console.log(`still logged in after 2.4s of activity (TTL 2s): role=${got.data.role}, ` +
      `expires ${toDate(got.expiresAt).toISOString()}`);

    const updated = await cc.updateSession('sessions', sid, { cart: '[42]' }, [], { expectedVersion: got.version });
    const stale = await cc
      .updateSession('sessions', sid, { cart: '[]' }, [], { expectedVersion: got.version })
      .catch((e) => e);
    check(stale instanceof Aborted, 'a stale compare-and-set fails');
    console.log(`per-field update -> version ${updated.version}; a stale concurrent update is refused: ${stale.reason}`);

    await sleep(2600); // idle past the TTL
    const gone = await cc.getSession('sessions', sid).catch((e) => e);
    check(gone instanceof NotFound, 'an idle session expires');
    console.log(`idle for longer than its TTL: ${gone.reason}`);

    for (let i = 0; i < 3; i++) await cc.createSession('sessions', 'user123', { device: 'phone' });
    const revoked = await cc.deleteSubjectSessions('sessions', 'user123');
    console.log(`password changed: all ${revoked} sessions of user123 revoked in one call`);
    check(revoked === 3, 'subject revocation');
  } finally {
    cc.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
