// Compile-only check of index.d.ts (`npm run typecheck`): typical usage must
// type-check under --strict.
import { CacheCar, ErrorReason, NotFound, serveApp, toDate, Written } from '../..';

async function main(): Promise<void> {
  const app = await serveApp({ load: async (_ns, key) => (key === '42' ? '{"name":"tea"}' : null) });
  const cc = new CacheCar(process.env.CACHECAR_TARGET, { timeout: 2000 });
  const product = await cc.getOrLoad('products', '42');
  const name: string = JSON.parse(product.value.toString()).name;
  const source: 'SOURCE_CACHE' | 'SOURCE_LOADER' | 'SOURCE_STALE' | 'SOURCE_NEAR_CACHE' | 'SOURCE_UNSPECIFIED' = product.source;
  const session = await cc.createSession('sessions', 'alice', { role: 'admin' }, { ttl: 60_000 });
  const expires: Date | null = toDate(session.expiresAt);
  const top = await cc.getTop('games', 'weekly', { limit: 3 });
  const ranks: number[] = top.entries.map((e) => e.rank);
  for await (const event of cc.subscribe('events', ['news'])) {
    if (event.type === 'message') console.log(event.payload.toString());
    break;
  }
  try {
    await cc.getSession('sessions', 'x');
  } catch (err) {
    if (err instanceof NotFound) console.log(err.reason);
    if (err instanceof NotFound && err.reason === ErrorReason.SESSION_NOT_FOUND) console.log('gone');
  }
  const writeId: string = await cc.enqueueWrite('orders', 'o1', 'v', { version: 7, ifVersion: 6 });
  const queued: Written = await cc.enqueueWrite('orders', 'o1', 'v', { version: 8, withVersion: true });
  const through: Written = await cc.writeThrough('products', 'p1', 'v', { withVersion: true });
  const throughId: string = await cc.writeThrough('products', 'p1', 'v');
  // @ts-expect-error: a queued write carries no tags.
  await cc.enqueueWrite('orders', 'o1', 'v', { tags: ['t'] });
  const full: ErrorReason = ErrorReason.QUEUE_FULL;
  // @ts-expect-error: not a reason, so ErrorReason must not type it.
  console.log(ErrorReason.NOT_A_REASON);
  console.log(name, source, expires, ranks, full, writeId, queued.version, through.writeId, throughId);
  cc.close();
  await app.close();
}
void main;
