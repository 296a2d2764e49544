'use strict';
/**
 * A Subscribe stream as an async iterator. A subscription is useful only
 * once it is active in Redis, so ready() (and iteration) first waits for the
 * sidecar's SubscribedEvent, within the client's default timeout: a message
 * published after ready() resolved is delivered. Breaking out of the loop,
 * or cancel(), ends the stream.
 */
const { errorFromGrpc, DeadlineExceeded, Internal } = require('./errors');

class Subscription {
  constructor(call, readyTimeoutMs) {
    this._call = call;
    // Errors are read through the iterator; this listener only keeps a late
    // CANCELLED (after the loop ended) from becoming an unhandled 'error'.
    call.on('error', () => {});
    this._iterator = call[Symbol.asyncIterator]();
    this._readyTimeoutMs = readyTimeoutMs;
    this._ready = null;
    /** The SubscribedEvent once ready: {channels, patterns, resumeIds}. */
    this.subscribed = null;
  }

  async _next() {
    try {
      const { value, done } = await this._iterator.next();
      return done ? null : value;
    } catch (err) {
      throw errorFromGrpc(err);
    }
  }

  /** Resolves to the SubscribedEvent once every subscription is active. */
  ready() {
    this._ready ??= this._waitReady();
    return this._ready;
  }

  async _waitReady() {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DeadlineExceeded(
              `the subscription was not confirmed within ${this._readyTimeoutMs} ms; is the sidecar overloaded?`,
            ),
          ),
        this._readyTimeoutMs,
      );
    });
    try {
      const first = await Promise.race([this._next(), timeout]);
      if (!first || first.event !== 'subscribed') {
        throw new Internal("the sidecar's first Subscribe event was not SubscribedEvent");
      }
      this.subscribed = first.subscribed;
      return this.subscribed;
    } catch (err) {
      this.cancel();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Yields {type: 'message', channel, pattern, payload, messageId, publishedAt} and {type: 'missed', reason, missedCount, channel}. */
  async *[Symbol.asyncIterator]() {
    await this.ready();
    try {
      for (;;) {
        const response = await this._next();
        if (response === null) return;
        const type = response.event;
        yield { type, ...response[type] };
      }
    } finally {
      this.cancel();
    }
  }

  /** End the stream (idempotent). */
  cancel() {
    this._call.cancel();
  }
}

module.exports = { Subscription };
