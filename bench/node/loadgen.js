#!/usr/bin/env node
/*
 * cachecar benchmark load generator: one gRPC channel, a fixed number of unary
 * calls in flight, for a fixed time after a warm-up; prints JSON lines.
 *
 * Written in Node.js (@grpc/grpc-js), another runtime than the servers it
 * loads, so its work never shares their GIL or event loop; it reports its own
 * CPU so the bench can show whether it kept up. Requests are serialized once up front and
 * sent with identity serializers, so the per-call client cost is the transport
 * alone; responses are decoded only for a sample (to check they are hits).
 *
 * Output, one JSON object per line on stdout:
 *   {"event":"window-start"}  the measured window begins (after the warm-up)
 *   {"event":"window-end"}    the measured window ends; no new calls start
 *   {"event":"result", ...}   calls, errors, rpc_per_s, p50_us, p99_us, ...
 * The parent samples the server's CPU when it reads the first two lines.
 *
 * Usage (--requests takes a JSON array, or @FILE holding one; calls cycle through it):
 *   node loadgen.js --target 127.0.0.1:50070 --concurrency 32 --warmup 1 --duration 5 \
 *     --proto-root ../../protos --proto cachecar/v1/cache.proto \
 *     --method cachecar.v1.CacheService/GetOrLoad --requests '[{"namespace":"bench","key":"k"}]' \
 *     --check hit
 *   node loadgen.js --target 127.0.0.1:50080 --method /bench.Echo/Echo --echo-bytes 24
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const CALL_TIMEOUT_MS = 10_000;
// Decode one response in this many: enough to catch a miss, cheap enough not
// to load the client.
const CHECK_EVERY = 64;
// After the window ends, in-flight calls get this long to finish before the
// result is printed anyway (bounded like every other wait here).
const DRAIN_LIMIT_MS = CALL_TIMEOUT_MS + 1_000;

function parseArgs(argv) {
  const args = {
    target: '127.0.0.1:50070',
    concurrency: 32,
    warmup: 1,
    duration: 5,
    method: '',
    requests: '[{}]',
    protoRoot: path.resolve(__dirname, '..', '..', 'protos'),
    proto: 'cachecar/v1/cache.proto',
    echoBytes: 24,
    check: 'none',
  };
  const names = {
    '--target': 'target',
    '--concurrency': 'concurrency',
    '--warmup': 'warmup',
    '--duration': 'duration',
    '--method': 'method',
    '--requests': 'requests',
    '--proto-root': 'protoRoot',
    '--proto': 'proto',
    '--echo-bytes': 'echoBytes',
    '--check': 'check',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (key === undefined || i + 1 >= argv.length) {
      throw new Error(`unknown or incomplete argument ${argv[i]}`);
    }
    args[key] = argv[i + 1];
  }
  for (const key of ['concurrency', 'warmup', 'duration', 'echoBytes']) {
    args[key] = Number(args[key]);
    if (!Number.isFinite(args[key]) || args[key] < 0) throw new Error(`bad --${key}`);
  }
  if (args.concurrency < 1 || args.duration <= 0 || args.duration > 120) {
    throw new Error('need --concurrency >= 1 and 0 < --duration <= 120');
  }
  if (!args.method) throw new Error('--method is required');
  return args;
}

// What one call sends and how to read what comes back: either a proto method
// of a service loaded from .proto files, or a raw-bytes path (the echo floor).
function methodPlan(args) {
  if (args.method.startsWith('/')) {
    return {
      path: args.method,
      payloads: [Buffer.alloc(args.echoBytes, 0x61)],
      decode: null,
    };
  }
  const [service, name] = args.method.split('/');
  const definition = protoLoader.loadSync(args.proto, {
    includeDirs: [args.protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const method = definition[service] && definition[service][name];
  if (!method) throw new Error(`no method ${args.method} in ${args.proto}`);
  // "@FILE" reads the JSON array from a file (long lists stay off the command line).
  const text = args.requests.startsWith('@')
    ? fs.readFileSync(args.requests.slice(1), 'utf8')
    : args.requests;
  const requests = JSON.parse(text);
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new Error('--requests must be a non-empty JSON array');
  }
  return {
    path: method.path,
    payloads: requests.map((r) => method.requestSerialize(r)),
    decode: method.responseDeserialize,
  };
}

// A sampled response is a hit when every value in it was found in the cache.
function isHit(message) {
  const results = message.results !== undefined ? message.results : [message];
  return results.length > 0 && results.every(
    (r) => r.found && (r.source === 'SOURCE_CACHE' || r.source === 'SOURCE_NEAR_CACHE'),
  );
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function main() {
  const args = parseArgs(process.argv);
  const plan = methodPlan(args);
  const identity = (b) => b;
  const client = new grpc.Client(args.target, grpc.credentials.createInsecure());

  const start = performance.now();
  const windowStart = start + args.warmup * 1000;
  const windowEnd = windowStart + args.duration * 1000;
  let inWindow = false;
  let stopped = false;
  let windowStartedAt = 0;
  let windowEndedAt = 0;
  let cpuAtStart = null;
  let cpuInWindow = null;

  const latencies = []; // µs, of the calls that completed inside the window
  let errors = 0;
  let totalCalls = 0;
  let totalErrors = 0;
  let checked = 0;
  let checkFailures = 0;
  let firstError = null;
  let inFlight = 0;
  let sent = 0;
  let finished = false;

  function finish() {
    if (finished) return;
    finished = true;
    const sorted = Float64Array.from(latencies).sort();
    const seconds = (windowEndedAt - windowStartedAt) / 1000;
    const cpuUs = cpuInWindow ? cpuInWindow.user + cpuInWindow.system : 0;
    emit({
      event: 'result',
      method: plan.path,
      concurrency: args.concurrency,
      window_s: seconds,
      calls: latencies.length,
      errors,
      rpc_per_s: seconds > 0 ? latencies.length / seconds : 0,
      p50_us: percentile(sorted, 50),
      p99_us: percentile(sorted, 99),
      mean_us: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
      total_calls: totalCalls,
      total_errors: totalErrors,
      checked,
      check_failures: checkFailures,
      first_error: firstError,
      client_cpu_us: cpuUs,
      client_cores: seconds > 0 ? cpuUs / 1e6 / seconds : 0,
    });
    client.close();
    // Exit even if a call or timer is somehow still pending.
    setImmediate(() => process.exit(0));
  }

  function issue() {
    if (stopped) {
      if (inFlight === 0) finish();
      return;
    }
    const payload = plan.payloads[sent % plan.payloads.length];
    sent += 1;
    inFlight += 1;
    const began = performance.now();
    client.makeUnaryRequest(
      plan.path,
      identity,
      identity,
      payload,
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (err, response) => {
        const ended = performance.now();
        inFlight -= 1;
        totalCalls += 1;
        // Completions inside the window are what the window's server CPU
        // paid for (calls straddling either edge balance out).
        const counts = inWindow;
        if (err) {
          totalErrors += 1;
          if (counts) errors += 1;
          if (firstError === null) firstError = `${err.code} ${err.details}`;
        } else {
          if (counts) latencies.push((ended - began) * 1000);
          if (plan.decode && args.check === 'hit' && totalCalls % CHECK_EVERY === 1) {
            checked += 1;
            if (!isHit(plan.decode(response))) checkFailures += 1;
          }
        }
        issue();
      },
    );
  }

  setTimeout(() => {
    inWindow = true;
    windowStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    emit({ event: 'window-start' });
  }, windowStart - performance.now());

  setTimeout(() => {
    inWindow = false;
    stopped = true;
    windowEndedAt = performance.now();
    cpuInWindow = process.cpuUsage(cpuAtStart);
    emit({ event: 'window-end' });
    if (inFlight === 0) finish();
    setTimeout(finish, DRAIN_LIMIT_MS).unref();
  }, windowEnd - performance.now());

  for (let w = 0; w < args.concurrency; w += 1) issue();
}

try {
  main();
} catch (err) {
  process.stderr.write(`loadgen: ${err.message}\n`);
  process.exit(2);
}
