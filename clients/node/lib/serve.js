'use strict';
/**
 * Serve the app's side of cachecar (LoaderService, WriterService) from plain
 * async functions:
 *
 *   const app = await serveApp({
 *     load: async (namespace, key) => JSON.stringify(await db.product(key)) ?? null,
 *     address: '127.0.0.1:50071',
 *   });
 *   ...
 *   await app.close();
 *
 * A loader resolves to the value (Buffer or string), null/undefined for "no
 * such key" (cached for the namespace's negative TTL) or {value, ttl, version, tags} to
 * give the value its own TTL (ms). A writer receives {namespace, key, value,
 * writeId, delete, acceptedAt}. Throw one of ./errors (Unavailable for a
 * database that is down) to choose the status; anything else is logged here
 * and reported as INTERNAL without its message.
 */
const grpc = require('@grpc/grpc-js');
const { v1 } = require('./protos');
const { CacheCarError } = require('./errors');
const { toBytes, duration, toDate } = require('./values');

function toWrite(w, ownerEpoch = 0) {
  return {
    namespace: w.namespace,
    key: w.key,
    value: w.value,
    writeId: w.writeId,
    delete: w.kind === 'WRITE_KIND_DELETE',
    acceptedAt: toDate(w.acceptedAt),
    // Write-behind only: see ./fence.js.
    sequence: w.sequence,
    ownerEpoch,
    // Write-behind: the cache entry's version; write-through: the caller's (0 if none).
    version: Number(w.version || 0),
  };
}

function failure(err, what) {
  if (err instanceof CacheCarError) return { code: err.code, details: err.message };
  // The app's own error may carry database details: they belong in the app's
  // log, not in a status cachecar passes on to its callers.
  console.error(`cachecar: the app's ${what} threw`, err);
  return { code: grpc.status.INTERNAL, details: `the app's ${what} threw ${err?.name ?? typeof err}` };
}

/** Adapt an async function to a grpc-js unary handler. */
function handler(fn, what) {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err) => callback(failure(err, what)),
      );
  };
}

const unimplemented = (what) => (_call, callback) =>
  callback({ code: grpc.status.UNIMPLEMENTED, details: `this app serves no ${what}` });

/**
 * Start a Loader/Writer server. `write` serves write-through; `writeBatch`
 * serves write-behind flushes (without it each write of a batch goes to
 * `write`, in order). With `fence` (a WriteFence), a batch's writes that are
 * not newer (owner epoch, then sequence) than what was applied for their key
 * are skipped. Resolves to {target, close()} once listening.
 *
 * @param {{load?: Function, write?: Function, writeBatch?: Function, address?: string, fence?: object}} options
 */
async function serveApp({ load, write, writeBatch, address = '127.0.0.1:0', fence } = {}) {
  if (!load && !write && !writeBatch) throw new TypeError('serveApp needs load, write or writeBatch');
  const server = new grpc.Server();
  server.addService(v1.LoaderService.service, {
    Load: load
      ? handler(async (req, call) => {
          const result = await load(req.namespace, req.key, { deadline: call.getDeadline() });
          if (result === null || result === undefined) return { found: false };
          if (typeof result === 'object' && !(result instanceof Uint8Array)) {
            return {
              found: true,
              value: toBytes(result.value),
              ttl: duration(result.ttl),
              version: result.version || 0,
              tags: result.tags ? [...result.tags] : [],
            };
          }
          return { found: true, value: toBytes(result) };
        }, 'loader')
      : unimplemented('loader'),
  });
  const applyBatch = async (writes) => {
    if (writeBatch) return writeBatch(writes);
    // In queue order; a failure part-way fails the batch, which cachecar
    // retries whole, so write must be idempotent per writeId.
    for (const w of writes) await write(w);
  };
  // Fenced: check, apply and record one batch at a time, so two batches'
  // checks cannot both pass before either is recorded.
  let fenced = Promise.resolve();
  const applyFenced = (writes) => {
    const run = fenced.then(async () => {
      const fresh = fence.fresh(writes);
      if (fresh.length) {
        await applyBatch(fresh);
        fence.applied(fresh);
      }
    });
    fenced = run.catch(() => {});
    return run;
  };
  server.addService(v1.WriterService.service, {
    Write: write || writeBatch
      ? handler(async (req) => {
          await (write ? write(toWrite(req)) : writeBatch([toWrite(req)]));
          return {};
        }, 'writer')
      : unimplemented('writer'),
    WriteBatch: write || writeBatch
      ? handler(async (req) => {
          const writes = req.writes.map((w) => toWrite(w, Number(req.ownerEpoch)));
          await (fence ? applyFenced(writes) : applyBatch(writes));
          return {};
        }, 'writer')
      : unimplemented('writer'),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  return {
    /** The address to name in cachecar's namespace config (the real port for port 0). */
    target: `${host}:${port}`,
    /** Stop: calls in flight get `graceMs` to finish, then are cancelled. */
    close(graceMs = 1000) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

module.exports = { serveApp };
