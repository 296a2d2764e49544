'use strict';
/**
 * cachecar: the Node.js client of the cachecar caching sidecar.
 *
 *   const { CacheCar, serveApp, NotFound } = require('cachecar');
 *
 * See README.md; index.d.ts declares the types.
 */
const { CacheCar, DEFAULT_TARGET } = require('./lib/client');
const errors = require('./lib/errors');
const { ExponentialBackoff, NoRetry } = require('./lib/retry');
const { serveApp } = require('./lib/serve');
const { WriteFence } = require('./lib/fence');
const { Subscription } = require('./lib/subscription');
const { toDate, toMillis } = require('./lib/values');
const { v1 } = require('./lib/protos');

module.exports = {
  CacheCar,
  DEFAULT_TARGET,
  ExponentialBackoff,
  NoRetry,
  Subscription,
  WriteFence,
  serveApp,
  toDate,
  toMillis,
  /** The grpc-js service constructors and message types of cachecar.v1. */
  v1,
  ...errors,
};
