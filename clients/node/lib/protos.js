'use strict';
/**
 * Loads the cachecar.v1 API from its .proto files at require time
 * (@grpc/proto-loader), so the package needs no build step and no generated
 * code that could drift from protos/. Installed, the package carries a copy
 * of the protos (scripts/copy-protos.js runs on `npm pack`); in the repo it
 * reads the source of truth, ../../protos, directly.
 */
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const FILES = ['cache', 'loader', 'writer', 'session', 'leaderboard', 'pubsub', 'error_reason'].map(
  (name) => `cachecar/v1/${name}.proto`,
);

/** The directory holding cachecar/v1/*.proto: the packaged copy, else the repo's. */
function protoRoot() {
  const candidates = [
    process.env.CACHECAR_PROTO_ROOT,
    path.join(__dirname, '..', 'protos'),
    path.join(__dirname, '..', '..', '..', 'protos'),
  ].filter(Boolean);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, FILES[0]))) return dir;
  }
  throw new Error(
    `cachecar: cannot find the cachecar.v1 protos (looked in ${candidates.join(', ')}); ` +
      'reinstall the package or set CACHECAR_PROTO_ROOT',
  );
}

// Options chosen for idiomatic JavaScript: camelCase fields, enum names as
// strings ('SOURCE_CACHE'), bytes as Buffers, 64-bit integers as Numbers
// (exact up to 2**53, far beyond any count or counter a cache holds), every
// field present with its default (a miss reads found === false, not
// undefined), and the name of the set oneof field (event: 'message').
const OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot()],
};

const definition = protoLoader.loadSync(FILES, OPTIONS);
const v1 = grpc.loadPackageDefinition(definition).cachecar.v1;

/**
 * ErrorReason from protos/cachecar/v1/error_reason.proto as name -> name
 * (ErrorReason.KEY_INVALID === 'KEY_INVALID'): a value's name is the ErrorInfo
 * reason string, and enums are their names in this client (enums: String).
 */
const ErrorReason = Object.freeze(
  Object.fromEntries(
    definition['cachecar.v1.ErrorReason'].type.value.map(({ name }) => [name, name]),
  ),
);

module.exports = { v1, definition, protoRoot, ErrorReason };
