'use strict';
/**
 * Typed errors for every failure the sidecar (or the transport) reports, the
 * same tree as the Python client's:
 *
 *   CacheCarError            any status; .code, .codeName, .reason, .metadata
 *    ├── Cancelled           CANCELLED
 *    ├── InvalidArgument     INVALID_ARGUMENT    KEY_INVALID, VALUE_TOO_LARGE, ...
 *    ├── DeadlineExceeded    DEADLINE_EXCEEDED   LOADER_TIMEOUT, LEASE_WAIT_TIMEOUT, ...
 *    ├── NotFound            NOT_FOUND           NAMESPACE_UNKNOWN, SESSION_NOT_FOUND, ...
 *    ├── AlreadyExists, PermissionDenied
 *    ├── ResourceExhausted   RESOURCE_EXHAUSTED  QUEUE_FULL, SUBSCRIBER_TOO_SLOW, ...
 *    ├── FailedPrecondition  FAILED_PRECONDITION NOT_SUPPORTED_BY_BACKEND, ...
 *    ├── Aborted             ABORTED             SESSION_VERSION_MISMATCH
 *    ├── OutOfRange          OUT_OF_RANGE        COUNTER_OVERFLOW
 *    ├── Unimplemented       UNIMPLEMENTED
 *    ├── Internal            INTERNAL
 *    ├── Unavailable         UNAVAILABLE         BACKEND_UNAVAILABLE, LOADER_UNAVAILABLE, ...
 *    └── Unauthenticated     UNAUTHENTICATED
 *
 * `reason` is the google.rpc.ErrorInfo reason from the grpc-status-details-bin
 * trailer, one of ErrorReason's names (compare with ErrorReason.QUEUE_FULL);
 * it is '' for statuses that did not come from cachecar (a refused
 * connection, a deadline that ran out in the client).
 */
const { status: Status } = require('@grpc/grpc-js');
const protobuf = require('protobufjs');
const { ErrorReason } = require('./protos');

const DOMAIN = 'cachecar';
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

// google.rpc.Status and ErrorInfo, declared inline (three tiny messages)
// rather than shipping googleapis' .proto files for them.
const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'Any', id: 3 },
              },
            },
            Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
          },
        },
      },
    },
  },
}).lookup('google.rpc');
const StatusMessage = rpc.lookupType('Status');
const ErrorInfoMessage = rpc.lookupType('ErrorInfo');

const CODE_NAMES = Object.fromEntries(Object.entries(Status).map(([name, code]) => [code, name]));

class CacheCarError extends Error {
  /**
   * @param {string} message what went wrong and what to do
   * @param {{code?: number, reason?: string, domain?: string, metadata?: Record<string,string>, cause?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = new.target.name;
    this.code = info.code ?? new.target.statusCode;
    this.codeName = CODE_NAMES[this.code] ?? String(this.code);
    this.reason = info.reason ?? '';
    this.domain = info.domain ?? '';
    this.metadata = Object.freeze({ ...(info.metadata ?? {}) });
  }

  toString() {
    const label = this.reason ? `${this.codeName}/${this.reason}` : this.codeName;
    return `${this.name} ${label}: ${this.message}`;
  }
}
CacheCarError.statusCode = Status.UNKNOWN;

const classes = {};
for (const [name, code] of [
  ['Cancelled', Status.CANCELLED],
  ['InvalidArgument', Status.INVALID_ARGUMENT],
  ['DeadlineExceeded', Status.DEADLINE_EXCEEDED],
  ['NotFound', Status.NOT_FOUND],
  ['AlreadyExists', Status.ALREADY_EXISTS],
  ['PermissionDenied', Status.PERMISSION_DENIED],
  ['ResourceExhausted', Status.RESOURCE_EXHAUSTED],
  ['FailedPrecondition', Status.FAILED_PRECONDITION],
  ['Aborted', Status.ABORTED],
  ['OutOfRange', Status.OUT_OF_RANGE],
  ['Unimplemented', Status.UNIMPLEMENTED],
  ['Internal', Status.INTERNAL],
  ['Unavailable', Status.UNAVAILABLE],
  ['Unauthenticated', Status.UNAUTHENTICATED],
]) {
  // A named class per code, so `instanceof NotFound` and stack traces read well.
  const cls = { [name]: class extends CacheCarError {} }[name];
  cls.statusCode = code;
  classes[name] = cls;
}
const BY_CODE = new Map(Object.values(classes).map((cls) => [cls.statusCode, cls]));

/** The first ErrorInfo in a grpc-status-details-bin trailer, or null. */
function errorInfo(metadata) {
  const values = metadata && typeof metadata.get === 'function' ? metadata.get(STATUS_DETAILS_KEY) : [];
  for (const value of values) {
    try {
      const status = StatusMessage.decode(value);
      for (const detail of status.details) {
        if (detail.typeUrl === ERROR_INFO_TYPE) return ErrorInfoMessage.decode(detail.value);
      }
    } catch {
      // A malformed trailer must not hide the status itself.
    }
  }
  return null;
}

/** The typed error for a failed grpc-js call (anything else is returned as is). */
function errorFromGrpc(err) {
  if (err instanceof CacheCarError || typeof err?.code !== 'number') return err;
  const info = errorInfo(err.metadata);
  const Cls = BY_CODE.get(err.code) ?? CacheCarError;
  return new Cls(err.details || CODE_NAMES[err.code] || 'unknown error', {
    code: err.code,
    reason: info?.reason ?? '',
    domain: info?.domain ?? '',
    metadata: info?.metadata ?? {},
    cause: err,
  });
}

/** A subscription received nothing, not even a heartbeat, for two intervals. */
class StreamStalled extends classes.Unavailable {}

module.exports = { DOMAIN, CacheCarError, ErrorReason, ...classes, StreamStalled, errorFromGrpc };
