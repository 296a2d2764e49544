'use strict';
// ErrorReason: loaded from protos/cachecar/v1/error_reason.proto, equal to
// the list index.d.ts types, and what the sidecar's errors carry.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');
const { CacheCar, ErrorReason, NotFound, InvalidArgument } = require('..');
const { protoRoot } = require('../lib/protos');
const { TARGET } = require('./helpers');

const cc = new CacheCar(TARGET);
after(() => cc.close());

/** The enum's value names, read from the .proto by protobufjs itself. */
function protoNames() {
  const file = path.join(protoRoot(), 'cachecar', 'v1', 'error_reason.proto');
  const values = protobuf.loadSync(file).lookupEnum('cachecar.v1.ErrorReason').values;
  return Object.keys(values).sort();
}

test('ErrorReason is the proto enum, name -> name, frozen', () => {
  const names = protoNames();
  assert.ok(names.includes('QUEUE_FULL') && names.includes('ERROR_REASON_UNSPECIFIED'));
  assert.deepEqual(Object.keys(ErrorReason).sort(), names);
  for (const [key, value] of Object.entries(ErrorReason)) assert.equal(value, key);
  assert.ok(Object.isFrozen(ErrorReason));
});

test("index.d.ts's ErrorReason type lists exactly the proto's values", () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  const union = dts.match(/export type ErrorReason =([^;]*);/);
  assert.ok(union, 'index.d.ts declares no `export type ErrorReason = ...;`');
  const typed = [...union[1].matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(typed, protoNames());
});

test("the sidecar's errors carry ErrorReason names", async () => {
  const unknown = await cc.get('no-such-namespace', 'k').catch((e) => e);
  assert.ok(unknown instanceof NotFound);
  assert.equal(unknown.reason, ErrorReason.NAMESPACE_UNKNOWN);
  const badKey = await cc.get('plain', '').catch((e) => e);
  assert.ok(badKey instanceof InvalidArgument);
  assert.equal(badKey.reason, ErrorReason.KEY_INVALID);
});
