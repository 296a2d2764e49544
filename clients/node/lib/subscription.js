'use strict';
/**
 * A Subscribe stream as an async iterator. A subscription is useful only
 * once it is active in Redis, so ready() (and iteration) first waits for the
 * sidecar's SubscribedEvent, within the client's default timeout: a message
 * published after ready() resolved is delivered. Breaking out of the loop,
 * or cancel(), ends the stream.
 *
 * Heartbeats (sent by the sidecar while the stream is idle) are consumed
 * here. No event at all for two heartbeat intervals ends the stream with
 * StreamStalled (reason STREAM_STALLED): the sidecar is frozen or the
 * connection is dead though a proxy holds it open. Subscribe again, with
 * resumeIds for durable channels.
 */
const { errorFromGrpc, DeadlineExceeded, Internal, StreamStalled } = require('./errors');

class Subscription {
  constructor(call, readyTimeoutMs) {
    this._call = call;
    // Errors are read through the iterator; this listener only keeps a late
    // CANCELLED (after the loop ended) from becoming an unhandled 'error'.
    call.on('error', () => {});
    this._iterator = call[Symbol.asyncIterator]();
    this._readyTimeoutMs = readyTimeoutMs;
    this._ready = null;
    /** The SubscribedEvent once ready: {channels, patterns, resumeIds, heartbeatInterval}. */
    this.subscribed = null;
    /** Milliseconds without any event after which the stream is stalled; null without heartbeats. */
    this.stallAfterMs = null;
  }

  /** The next response, or StreamStalled after stallAfterMs of silence. */
  async _nextWithin() {
    if (this.stallAfterMs === null) return this._next();
    let timer;
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StreamStalled(
              `no event, heartbeat included, for ${this.stallAfterMs} ms (two heartbeat intervals): ` +
                'the sidecar is frozen or the connection is dead; subscribe again (with resumeIds for durable channels)',
              { reason: 'STREAM_STALLED' },
            ),
          ),
        this.stallAfterMs,
      );
    });
    try {
      return await Promise.race([this._next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
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
      const beat = first.subscribed.heartbeatInterval;
      if (beat) {
        const ms = Number(beat.seconds) * 1000 + Math.round(Number(beat.nanos) / 1e6);
        if (ms > 0) this.stallAfterMs = 2 * ms;
      }
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
        const response = await this._nextWithin();
        if (response === null) return;
        const type = response.event;
        if (type === 'heartbeat') continue; // alive, only quiet
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
