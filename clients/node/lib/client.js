'use strict';
/**
 * CacheCar: the promise-based client, one object for the whole cachecar API,
 * mirroring the Python client's methods (camelCase, milliseconds).
 *
 *   const cc = new CacheCar('127.0.0.1:50070');
 *   const product = await cc.getOrLoad('products', '42');   // {found, value, source}
 *   cc.close();
 *
 * Every call has a deadline (options.timeout ms, default the client's),
 * failures reject with the typed errors of ./errors, and UNAVAILABLE is
 * retried only for idempotent calls, within that same deadline.
 */
const grpc = require('@grpc/grpc-js');
const { v1 } = require('./protos');
const { errorFromGrpc } = require('./errors');
const { ExponentialBackoff } = require('./retry');
const { Subscription } = require('./subscription');
const { toBytes, duration } = require('./values');

const DEFAULT_TARGET = '127.0.0.1:50070';
const SCORE_MODES = {
  set: 'SCORE_MODE_SET',
  increment: 'SCORE_MODE_INCREMENT',
  keep_greater: 'SCORE_MODE_KEEP_GREATER',
  keep_lower: 'SCORE_MODE_KEEP_LOWER',
};
const STARTS = { latest: 'START_POSITION_LATEST', oldest: 'START_POSITION_OLDEST' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const kind = (del) => (del ? 'WRITE_KIND_DELETE' : 'WRITE_KIND_PUT');
const keyList = (keys) => (typeof keys === 'string' ? [keys] : [...keys]);
const UNCONDITIONAL = 'CONDITION_UNSPECIFIED';

/** The version, condition and tags fields of Set / WriteThrough / SetItem from options. */
function writeFields(opts) {
  const asked = [opts.ifAbsent, opts.ifPresent, opts.ifVersion !== undefined].filter(Boolean);
  if (asked.length > 1) throw new RangeError('cachecar: pass at most one of ifAbsent, ifPresent, ifVersion');
  let condition = UNCONDITIONAL;
  if (opts.ifAbsent) condition = 'CONDITION_IF_ABSENT';
  else if (opts.ifPresent) condition = 'CONDITION_IF_PRESENT';
  else if (opts.ifVersion !== undefined) condition = 'CONDITION_IF_VERSION';
  return {
    version: opts.version || 0,
    condition,
    expectedVersion: opts.ifVersion || 0,
    tags: opts.tags ? keyList(opts.tags) : [],
  };
}

/** A write's result: the id, or with opts.withVersion {writeId, version} (the entry's version). */
function written(res, opts) {
  return opts.withVersion ? { writeId: res.writeId, version: res.version } : res.writeId;
}

class CacheCar {
  /**
   * @param {string} [target] host:port or unix:///path
   * @param {{timeout?: number, backoff?: {delay(failures: number): number|null},
   *          credentials?: grpc.ChannelCredentials, channelOptions?: object}} [options]
   */
  constructor(target = DEFAULT_TARGET, options = {}) {
    const { timeout = 5000, backoff = new ExponentialBackoff(), channelOptions = {} } = options;
    if (!(timeout > 0)) throw new RangeError(`cachecar: timeout must be positive ms, got ${timeout}`);
    this.target = target;
    this.timeout = timeout;
    this.backoff = backoff;
    const credentials = options.credentials ?? grpc.credentials.createInsecure();
    this._cache = new v1.CacheService(target, credentials, channelOptions);
    // One channel (one HTTP/2 connection) for every service.
    const shared = { ...channelOptions, channelOverride: this._cache.getChannel() };
    this._sessions = new v1.SessionService(target, credentials, shared);
    this._boards = new v1.LeaderboardService(target, credentials, shared);
    this._pubsub = new v1.PubSubService(target, credentials, shared);
  }

  /** Close the channel; calls in flight fail with CANCELLED. */
  close() {
    this._cache.close();
  }

  async _unary(client, method, request, { timeout, idempotent }) {
    const deadline = Date.now() + (timeout ?? this.timeout);
    for (let failures = 0; ; ) {
      try {
        return await new Promise((resolve, reject) => {
          // Each attempt carries what is left of the one deadline, so the
          // sidecar (and the app's loader behind it) stops when the caller does.
          client[method](request, { deadline: Math.max(deadline, Date.now() + 1) }, (err, res) =>
            err ? reject(err) : resolve(res),
          );
        });
      } catch (err) {
        // Only UNAVAILABLE means the call may be repeated; other codes are
        // answers, and repeating a non-idempotent call would repeat the write.
        if (!idempotent || err.code !== grpc.status.UNAVAILABLE) throw errorFromGrpc(err);
        failures += 1;
        const wait = this.backoff.delay(failures);
        if (wait === null || wait === undefined || Date.now() + wait >= deadline) {
          throw errorFromGrpc(err);
        }
        await sleep(wait);
      }
    }
  }

  _cacheCall(method, request, opts, idempotent) {
    return this._unary(this._cache, method, request, { timeout: opts?.timeout, idempotent });
  }

  // -- CacheService ----------------------------------------------------------

  /** Cached value, else one loader call per key however many callers miss: {found, value, source}. */
  getOrLoad(namespace, key, opts) {
    return this._cacheCall('GetOrLoad', { namespace, key }, opts, true);
  }

  /** One result per key, in order; a failed key has `error` set, the others are unaffected. */
  async getOrLoadMany(namespace, keys, opts) {
    const res = await this._cacheCall('GetOrLoadMany', { namespace, keys: [...keys] }, opts, true);
    return res.results;
  }

  /** The cached value, never calling the loader: {found, value}. */
  get(namespace, key, opts) {
    return this._cacheCall('Get', { namespace, key }, opts, true);
  }

  /** Store a value in the cache only; opts.ttl in ms (default: the namespace's). */
  /**
   * Store in the cache only; resolves to the stored version. opts: ttl, version (the app's:
   * a lower one than cached fails FAILED_PRECONDITION / VERSION_STALE), ifAbsent, ifPresent,
   * ifVersion (else ABORTED: VALUE_EXISTS, VALUE_MISSING, VERSION_MISMATCH), tags.
   * Retried on UNAVAILABLE only without a condition.
   */
  async set(namespace, key, value, opts = {}) {
    const request = {
      namespace,
      key,
      value: toBytes(value),
      ttl: duration(opts.ttl),
      ...writeFields(opts),
    };
    const res = await this._cacheCall('Set', request, opts, request.condition === UNCONDITIONAL);
    return res.version;
  }

  /** Drop one key or many; resolves to how many had an entry. opts.version leaves tombstones. */
  async invalidate(namespace, keys, opts = {}) {
    const request = { namespace, keys: keyList(keys), version: opts.version || 0 };
    const res = await this._cacheCall('Invalidate', request, opts, true);
    return res.invalidatedCount;
  }

  /**
   * Writer first, then the cache; resolves to the write id, or with opts.withVersion to
   * {writeId, version} (the cached entry's version). opts as set's (the condition is checked
   * before the writer is called) plus delete. Never retried (a retry is a new write).
   */
  async writeThrough(namespace, key, value, opts = {}) {
    const request = {
      namespace,
      key,
      value: toBytes(value),
      kind: kind(opts.delete),
      ...writeFields(opts),
    };
    return written(await this._cacheCall('WriteThrough', request, opts, false), opts);
  }

  /** Cached values (never the loader), one {key, found, value, version} per key, in order. */
  async getMany(namespace, keys, opts) {
    const res = await this._cacheCall('GetMany', { namespace, keys: [...keys] }, opts, true);
    return res.results;
  }

  /**
   * Store many: items are {key, value, ttl?, version?, ifAbsent?, ifPresent?, ifVersion?, tags?};
   * one {key, stored, version, error} per item. opts.ttl applies to items without one.
   */
  async setMany(namespace, items, opts = {}) {
    const list = [...items].map((item) => ({
      key: item.key,
      value: toBytes(item.value),
      ttl: duration(item.ttl),
      ...writeFields(item),
    }));
    const idempotent = list.every((item) => item.condition === UNCONDITIONAL);
    const request = { namespace, items: list, ttl: duration(opts.ttl) };
    return (await this._cacheCall('SetMany', request, opts, idempotent)).results;
  }

  /** A new TTL (opts.ttl, default the namespace's) without resending the value; false if none. */
  async touch(namespace, key, opts = {}) {
    const request = { namespace, key, ttl: duration(opts.ttl) };
    return (await this._cacheCall('Touch', request, opts, true)).found;
  }

  /** Make every value carrying any of the tags a miss. */
  async invalidateTags(namespace, tags, opts) {
    await this._cacheCall('InvalidateTags', { namespace, tags: keyList(tags) }, opts, true);
  }

  /**
   * Cache + durable queue in one step (write-behind); resolves to the write id, or with
   * opts.withVersion to {writeId, version}. opts: delete, version, ifAbsent, ifPresent, ifVersion
   * as set's, checked in the same step (a refused write is not queued; no tags). The writer gets
   * the entry's version. Never retried.
   */
  async enqueueWrite(namespace, key, value, opts = {}) {
    if (opts.tags !== undefined) throw new RangeError('cachecar: enqueueWrite takes no tags');
    const { version, condition, expectedVersion } = writeFields(opts);
    const request = {
      namespace,
      key,
      value: toBytes(value),
      kind: kind(opts.delete),
      version,
      condition,
      expectedVersion,
    };
    return written(await this._cacheCall('EnqueueWrite', request, opts, false), opts);
  }

  /** {pendingCount, inFlightCount, oldestAge, deadLetterCount} of a write-behind namespace. */
  getWriteQueue(namespace, opts) {
    return this._cacheCall('GetWriteQueue', { namespace }, opts, true);
  }

  /** Flush now and wait until drained or the deadline passes: {flushedCount, pendingCount}. */
  flushWrites(namespace, opts) {
    return this._cacheCall('FlushWrites', { namespace }, opts, true);
  }

  /** Requeue dead letters (opts.limit, 0 = all); resolves to how many. Not retried. */
  async replayDeadLetters(namespace, opts = {}) {
    const res = await this._cacheCall(
      'ReplayDeadLetters',
      { namespace, limit: opts.limit ?? 0 },
      opts,
      false,
    );
    return res.replayedCount;
  }

  // -- SessionService --------------------------------------------------------

  _sessionCall(method, request, opts, idempotent) {
    return this._unary(this._sessions, method, request, { timeout: opts?.timeout, idempotent });
  }

  /** Start a session; the response carries sessionId (a bearer secret: never log it). */
  createSession(namespace, subject = '', data = {}, opts = {}) {
    const request = { namespace, subject, data: bytesMap(data), ttl: duration(opts.ttl) };
    return this._sessionCall('CreateSession', request, opts, false);
  }

  /** Read a session and slide its expiry; NotFound / SESSION_NOT_FOUND if gone. */
  getSession(namespace, sessionId, opts) {
    return this._sessionCall('GetSession', { namespace, sessionId }, opts, true);
  }

  /** Set/delete fields atomically; opts.expectedVersion makes it a compare-and-set (Aborted). */
  updateSession(namespace, sessionId, setFields = {}, deleteFields = [], opts = {}) {
    const request = {
      namespace,
      sessionId,
      setFields: bytesMap(setFields),
      deleteFields: [...deleteFields],
      expectedVersion: opts.expectedVersion ?? 0,
    };
    return this._sessionCall('UpdateSession', request, opts, false);
  }

  /** Slide a session's expiry without reading it. */
  touchSession(namespace, sessionId, opts) {
    return this._sessionCall('TouchSession', { namespace, sessionId }, opts, true);
  }

  /** End a session; resolves to false if there was none. */
  async deleteSession(namespace, sessionId, opts) {
    return (await this._sessionCall('DeleteSession', { namespace, sessionId }, opts, true)).deleted;
  }

  /** End every session of a subject (Redis only); resolves to how many. */
  async deleteSubjectSessions(namespace, subject, opts) {
    const res = await this._sessionCall('DeleteSubjectSessions', { namespace, subject }, opts, true);
    return res.deletedCount;
  }

  // -- LeaderboardService ----------------------------------------------------

  _boardCall(method, request, opts, idempotent) {
    return this._unary(this._boards, method, request, { timeout: opts?.timeout, idempotent });
  }

  /** Record a score (opts.mode: set | increment | keep_greater | keep_lower): {score, rank, updated}. */
  addScore(namespace, board, member, score, opts = {}) {
    const mode = opts.mode ?? 'set';
    if (!(mode in SCORE_MODES)) throw new TypeError(`cachecar: unknown score mode ${mode}`);
    const request = { namespace, board, member, score, mode: SCORE_MODES[mode] };
    // Setting or keeping the better score twice changes nothing; adding twice does.
    return this._boardCall('AddScore', request, opts, mode !== 'increment');
  }

  /** One page, best first: {entries: [{member, score, rank}], memberCount}. */
  getTop(namespace, board, opts = {}) {
    const { limit = 10, offset = 0, windowsAgo = 0 } = opts;
    return this._boardCall('GetTop', { namespace, board, limit, offset, windowsAgo }, opts, true);
  }

  /** {entry: {member, score, rank}, memberCount}; NotFound / MEMBER_NOT_FOUND if absent. */
  getRank(namespace, board, member, opts = {}) {
    const request = { namespace, board, member, windowsAgo: opts.windowsAgo ?? 0 };
    return this._boardCall('GetRank', request, opts, true);
  }

  /** The member's entry with opts.count neighbours on each side. */
  getAround(namespace, board, member, opts = {}) {
    const { count = 5, windowsAgo = 0 } = opts;
    return this._boardCall('GetAround', { namespace, board, member, count, windowsAgo }, opts, true);
  }

  /** Remove a member; resolves to false if it was not on the board. */
  async removeMember(namespace, board, member, opts = {}) {
    const request = { namespace, board, member, windowsAgo: opts.windowsAgo ?? 0 };
    return (await this._boardCall('RemoveMember', request, opts, true)).removed;
  }

  /** Atomic add; opts.window (ms) makes it a fixed-window counter. Never retried. */
  incrementCounter(namespace, counter, delta = 1, opts = {}) {
    const request = { namespace, counter, delta, window: duration(opts.window) };
    return this._boardCall('IncrementCounter', request, opts, false);
  }

  /** {found, value, windowEndsAt, windowRemaining}. */
  getCounter(namespace, counter, opts) {
    return this._boardCall('GetCounter', { namespace, counter }, opts, true);
  }

  // -- PubSubService ---------------------------------------------------------

  /** Publish one message: {receiverCount, localReceiverCount, messageId}. Never retried. */
  publish(namespace, channel, payload, opts) {
    const request = { namespace, channel, payload: toBytes(payload) };
    return this._unary(this._pubsub, 'Publish', request, { timeout: opts?.timeout, idempotent: false });
  }

  /**
   * Open a subscription: `for await (const event of sub)` yields message and
   * missed events; `await sub.ready()` waits until it is active (iteration
   * does so too). opts.timeout bounds the whole stream (default: none).
   */
  subscribe(namespace, channels = [], opts = {}) {
    const request = {
      namespace,
      channels: [...channels],
      patterns: [...(opts.patterns ?? [])],
      resumeIds: { ...(opts.resumeIds ?? {}) },
      startPosition: STARTS[opts.start ?? 'latest'],
      heartbeats: true,
    };
    const callOptions = opts.timeout ? { deadline: Date.now() + opts.timeout } : {};
    return new Subscription(this._pubsub.Subscribe(request, callOptions), this.timeout);
  }
}

function bytesMap(data) {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, toBytes(v)]));
}

module.exports = { CacheCar, DEFAULT_TARGET };
