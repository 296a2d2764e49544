'use strict';
/**
 * Pacing of retries. Only UNAVAILABLE on idempotent calls is retried (the
 * client decides which calls are idempotent), never past the call's
 * deadline. A backoff is any object with `delay(failures)` returning the
 * milliseconds to wait before the next attempt, or null to give up.
 */

/** Capped exponential backoff with full jitter, as in the Python client. */
class ExponentialBackoff {
  /** @param {{baseMs?: number, capMs?: number, maxAttempts?: number}} [options] */
  constructor({ baseMs = 50, capMs = 1000, maxAttempts = 4 } = {}) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.maxAttempts = maxAttempts;
  }

  delay(failures) {
    if (failures >= this.maxAttempts) return null;
    // Full jitter spreads the retries of many clients that lost the sidecar at once.
    return Math.random() * Math.min(this.capMs, this.baseMs * 2 ** (failures - 1));
  }
}

/** Never retry. */
class NoRetry {
  delay() {
    return null;
  }
}

module.exports = { ExponentialBackoff, NoRetry };
