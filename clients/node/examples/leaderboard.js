'use strict';
/**
 * Leaderboards and counters with cachecar: the hand-written zadd / zrevrange.
 *
 * The snippet got back a flat [member, score, member, score, ...] list and
 * left ranks, ties, "keep the best score", neighbours and daily boards to
 * every app. cachecar returns ranked entries (equal scores: whoever got there
 * first ranks first), can keep only a player's best score, answers "who is
 * around me", keeps daily boards that expire by themselves, and does
 * fixed-window counters (a rate limit is one call).
 */
const { CacheCar, toDate, toMillis } = require('cachecar');

const TARGET = process.env.CACHECAR_TARGET ?? '127.0.0.1:50070';

function check(ok, what) {
  if (!ok) throw new Error(`unexpected: ${what}`);
}

async function main() {
  const cc = new CacheCar(TARGET);
  try {
    for (const p of ['user123', 'ana', 'bo', 'cy', 'dee']) await cc.removeMember('games', 'leaderboard', p);
    for (const [player, score] of [['user123', 100], ['ana', 250], ['bo', 100], ['cy', 75]]) {
      await cc.addScore('games', 'leaderboard', player, score); // zadd
    }
    await cc.addScore('games', 'leaderboard', 'dee', 90, { mode: 'keep_greater' });
    const worse = await cc.addScore('games', 'leaderboard', 'dee', 60, { mode: 'keep_greater' });
    console.log(`dee scores 60 after 90 with keep_greater: kept ${worse.score} (updated=${worse.updated})`);

    const top = await cc.getTop('games', 'leaderboard', { limit: 10 }); // zrevrange 0 9
    console.log(`top 10: ${top.entries.map((e) => `#${e.rank} ${e.member} ${e.score}`).join(', ')}`);
    check(top.entries.slice(0, 3).map((e) => e.member).join() === 'ana,user123,bo', 'ties: first wins');

    const bonus = await cc.addScore('games', 'leaderboard', 'cy', 50, { mode: 'increment' });
    const around = await cc.getAround('games', 'leaderboard', 'cy', { count: 1 });
    console.log(`cy +50 -> ${bonus.score}, rank ${bonus.rank}; around cy: ` +
      around.entries.map((e) => `#${e.rank} ${e.member}`).join(', '));
    check(bonus.rank === 2, 'an increment re-ranks the member');

    const daily = await cc.addScore('games', 'daily', 'ana', 40, { mode: 'increment' });
    console.log(`daily board (expires by itself, 7 days readable): ana ${daily.score} in the window ` +
      `${toDate(daily.window.startsAt).toISOString()} .. ${toDate(daily.window.endsAt).toISOString()}`);

    const counter = `login-attempts:user123:${process.pid}`;
    let allowed = 0;
    let attempt;
    for (let i = 0; i < 7; i++) {
      attempt = await cc.incrementCounter('games', counter, 1, { window: 60_000 });
      if (attempt.value <= 5) allowed += 1;
    }
    console.log(`rate limit 5 logins/minute: ${allowed} of 7 attempts allowed; retry after ` +
      `${Math.round(toMillis(attempt.windowRemaining) / 1000)}s`);
    check(allowed === 5, 'fixed-window rate limit');
  } finally {
    cc.close();
  }
}

main().catch((err) => {
  console.error(String(err));
  process.exitCode = 1;
});
