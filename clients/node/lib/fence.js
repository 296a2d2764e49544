'use strict';
/**
 * Fencing for the app's writer: refuse a write-behind batch a former owner
 * sent late. Every WriteBatch carries its partition's owner epoch (bumped on
 * each takeover) and every write its key's sequence (fixed-width, ordered as
 * strings). A sidecar paused past its lease can still deliver the batch it
 * held after the new owner wrote newer values; keeping, per key, the highest
 * (ownerEpoch, sequence) applied and skipping writes that are not higher makes
 * that batch harmless:
 *
 *   const fence = new WriteFence();
 *   const app = await serveApp({ writeBatch, fence });
 *
 * State is in memory, for one writer process. Several writer processes (or
 * one that restarts) keep the pair in the row and apply a write only where it
 * is higher: UPDATE ... WHERE k = $k AND (epoch, seq) < ($epoch, $seq).
 */

/** a > b for [epoch, sequence] pairs: epoch first, then sequence as strings. */
function higher(a, b) {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

class WriteFence {
  constructor() {
    this._applied = new Map();
    /** Writes refused so far (late or repeated), for the app's metrics. */
    this.refused = 0;
  }

  /** The [ownerEpoch, sequence] last applied for a key, or undefined. */
  appliedMark(namespace, key) {
    return this._applied.get(`${namespace}\u0000${key}`);
  }

  /** The writes higher than what was applied for their key, in order. */
  fresh(writes) {
    return writes.filter((w) => {
      if (!w.sequence) return true; // write-through: no sequence, always passes
      const mark = this.appliedMark(w.namespace, w.key);
      if (mark === undefined || higher([w.ownerEpoch, w.sequence], mark)) return true;
      this.refused += 1;
      return false;
    });
  }

  /** Record writes the app has applied (only after they succeeded). */
  applied(writes) {
    for (const w of writes) {
      if (!w.sequence) continue;
      const slot = `${w.namespace}\u0000${w.key}`;
      const mark = [w.ownerEpoch, w.sequence];
      const known = this._applied.get(slot);
      if (known === undefined || higher(mark, known)) this._applied.set(slot, mark);
    }
  }
}

module.exports = { WriteFence };
