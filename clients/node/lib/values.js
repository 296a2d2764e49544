'use strict';
/** Conversions between JavaScript values and the proto's bytes, Duration and Timestamp. */

/** Buffer for bytes fields: Buffers and Uint8Arrays as they are, strings as UTF-8. */
function toBytes(value) {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`cachecar: expected a Buffer, Uint8Array or string, got ${typeof value}`);
}

/** google.protobuf.Duration from milliseconds; undefined/null stay unset. */
function duration(ms) {
  if (ms === undefined || ms === null) return null;
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cachecar: bad duration ${ms} ms`);
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Milliseconds of a google.protobuf.Duration (null when unset). */
function toMillis(d) {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : null;
}

/** A Date for a google.protobuf.Timestamp (null when unset). */
function toDate(ts) {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) : null;
}

module.exports = { toBytes, duration, toMillis, toDate };
