// Type declarations for the cachecar Node.js client (hand-written; the
// JavaScript loads the protos at run time, so there is no generated code to
// derive them from). Field names are the protos' in camelCase; bytes are
// Buffers; enums are their names; 64-bit integers are numbers.
import type { ChannelCredentials, ChannelOptions, Metadata } from '@grpc/grpc-js';

export const DEFAULT_TARGET: string;
export const DOMAIN: 'cachecar';

/** Bytes to send: Buffers and Uint8Arrays as they are, strings as UTF-8. */
export type Bytes = Buffer | Uint8Array | string;

/** google.protobuf.Duration / Timestamp as received. */
export interface Duration { seconds: number; nanos: number }
export interface Timestamp { seconds: number; nanos: number }
export function toDate(ts: Timestamp | null | undefined): Date | null;
export function toMillis(d: Duration | null | undefined): number | null;

/** Every call's options: its deadline in ms (default: the client's timeout). */
export interface CallOptions { timeout?: number }

/** Paces retries of idempotent calls on UNAVAILABLE: ms to wait, or null to stop. */
export interface Backoff { delay(failures: number): number | null }
export class ExponentialBackoff implements Backoff {
  constructor(options?: { baseMs?: number; capMs?: number; maxAttempts?: number });
  delay(failures: number): number | null;
}
export class NoRetry implements Backoff {
  delay(failures: number): null;
}

export interface CacheCarOptions {
  /** Default deadline of every call, in ms (5000). */
  timeout?: number;
  backoff?: Backoff;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
}

// -- errors -------------------------------------------------------------------

/**
 * Every google.rpc.ErrorInfo reason of the cachecar domain: ErrorReason in
 * protos/cachecar/v1/error_reason.proto, whose value names are the reason
 * strings (the proto's comments say which code each comes with and what to
 * do). clients/node/test/reasons.test.js keeps this list equal to the proto.
 */
export type ErrorReason =
  | 'ERROR_REASON_UNSPECIFIED' | 'ARGUMENT_INVALID' | 'REQUEST_MALFORMED' | 'KEY_INVALID'
  | 'VALUE_TOO_LARGE' | 'TTL_INVALID' | 'BATCH_TOO_LARGE' | 'WRITE_KIND_INVALID'
  | 'SESSION_ID_INVALID' | 'SUBJECT_INVALID' | 'FIELD_INVALID' | 'BOARD_INVALID' | 'MEMBER_INVALID'
  | 'COUNTER_INVALID' | 'SCORE_INVALID' | 'SCORE_MODE_INVALID' | 'DELTA_INVALID' | 'WINDOW_INVALID'
  | 'CHANNEL_INVALID' | 'PATTERN_INVALID' | 'RESUME_ID_INVALID' | 'SUBSCRIPTION_EMPTY'
  | 'NOT_FOUND' | 'NAMESPACE_UNKNOWN' | 'SESSION_NOT_FOUND' | 'MEMBER_NOT_FOUND' | 'CALLER_UNKNOWN'
  | 'NAMESPACE_FORBIDDEN' | 'FAILED_PRECONDITION' | 'LOADER_NOT_CONFIGURED'
  | 'WRITER_NOT_CONFIGURED' | 'WRITE_BEHIND_NOT_CONFIGURED' | 'NOT_SUPPORTED_BY_BACKEND'
  | 'ABORTED' | 'SESSION_VERSION_MISMATCH' | 'SESSION_CONTENDED' | 'OUT_OF_RANGE'
  | 'COUNTER_OVERFLOW' | 'SCORE_OVERFLOW' | 'RESOURCE_EXHAUSTED' | 'REQUEST_TOO_LARGE'
  | 'QUEUE_FULL' | 'BACKEND_OUT_OF_MEMORY' | 'LOADS_EXHAUSTED' | 'TOO_MANY_STREAMS'
  | 'TOO_MANY_SUBSCRIBERS' | 'SUBSCRIBER_TOO_SLOW' | 'DEADLINE_EXCEEDED' | 'LOADER_TIMEOUT'
  | 'WRITER_TIMEOUT' | 'LEASE_WAIT_TIMEOUT' | 'LEASE_EXPIRING' | 'LEASE_LOST' | 'UNAVAILABLE'
  | 'BACKEND_UNAVAILABLE' | 'SLOT_MIGRATING' | 'LOADER_UNAVAILABLE' | 'WRITER_UNAVAILABLE'
  | 'SHUTTING_DOWN' | 'LOADER_FAILED' | 'WRITER_FAILED' | 'INTERNAL'
  | 'WRITE_NOT_REPLICATED' | 'STREAM_STALLED' | 'CONDITION_INVALID' | 'TAGS_INVALID' | 'VALUE_EXISTS'
  | 'VALUE_MISSING' | 'VERSION_MISMATCH' | 'WRITE_CONTENDED' | 'VERSION_STALE';
/** ErrorReason's names as values: `err.reason === ErrorReason.QUEUE_FULL`. */
export const ErrorReason: { readonly [K in ErrorReason]: K };

export class CacheCarError extends Error {
  constructor(message: string, info?: { code?: number; reason?: string; domain?: string; metadata?: Record<string, string>; cause?: unknown });
  static statusCode: number;
  /** The gRPC status code (a number of grpc.status). */
  readonly code: number;
  /** Its name, e.g. 'NOT_FOUND'. */
  readonly codeName: string;
  /**
   * The ErrorInfo reason, e.g. 'NAMESPACE_UNKNOWN' (an ErrorReason, or a newer
   * sidecar's reason this client does not list yet); '' if the status carried none.
   */
  readonly reason: ErrorReason | (string & {});
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
}
export class Cancelled extends CacheCarError {}
export class InvalidArgument extends CacheCarError {}
export class DeadlineExceeded extends CacheCarError {}
export class NotFound extends CacheCarError {}
export class AlreadyExists extends CacheCarError {}
export class PermissionDenied extends CacheCarError {}
export class ResourceExhausted extends CacheCarError {}
export class FailedPrecondition extends CacheCarError {}
export class Aborted extends CacheCarError {}
export class OutOfRange extends CacheCarError {}
export class Unimplemented extends CacheCarError {}
export class Internal extends CacheCarError {}
export class Unavailable extends CacheCarError {}
/** A subscription received nothing, not even a heartbeat, for two heartbeat intervals. */
export class StreamStalled extends Unavailable {}
export class Unauthenticated extends CacheCarError {}
/** The typed error for a failed grpc-js call (other values are returned as they are). */
export function errorFromGrpc(err: unknown): unknown;

// -- messages -------------------------------------------------------------------

export type Source = 'SOURCE_UNSPECIFIED' | 'SOURCE_CACHE' | 'SOURCE_LOADER' | 'SOURCE_STALE' | 'SOURCE_NEAR_CACHE';
export interface GetOrLoadResponse { found: boolean; value: Buffer; source: Source; version: number }
export interface KeyError { code: number; reason: string; message: string }
export interface GetOrLoadResult { key: string; found: boolean; value: Buffer; source: Source; error: KeyError | null; version: number }
export interface GetResponse { found: boolean; value: Buffer; version: number }
/** Versions and conditions of a write (see docs/consistency.md); at most one condition. */
export interface WriteOptions { version?: number; ifAbsent?: boolean; ifPresent?: boolean; ifVersion?: number; tags?: string[] }
export interface SetItem extends WriteOptions { key: string; value: Bytes; ttl?: number }
export interface GetResult { key: string; found: boolean; value: Buffer; version: number; error: KeyError | null }
export interface SetResult { key: string; stored: boolean; version: number; error: KeyError | null }
/** writeThrough / enqueueWrite with opts.withVersion: the write's id and the cache entry's version. */
export interface Written { writeId: string; version: number }
export interface GetWriteQueueResponse { pendingCount: number; inFlightCount: number; oldestAge: Duration | null; deadLetterCount: number }
export interface FlushWritesResponse { flushedCount: number; pendingCount: number }

export interface SessionTimes { expiresAt: Timestamp | null; absoluteExpiresAt: Timestamp | null }
export interface CreateSessionResponse extends SessionTimes { sessionId: string; subject: string; data: Record<string, Buffer>; version: number; createdAt: Timestamp | null }
export interface GetSessionResponse extends SessionTimes { data: Record<string, Buffer>; subject: string; version: number; createdAt: Timestamp | null }
export interface UpdateSessionResponse extends SessionTimes { data: Record<string, Buffer>; version: number }
export interface TouchSessionResponse extends SessionTimes { version: number }

export type ScoreMode = 'set' | 'increment' | 'keep_greater' | 'keep_lower';
export interface Entry { member: string; score: number; rank: number }
export interface BoardWindow { startsAt: Timestamp | null; endsAt: Timestamp | null }
export interface AddScoreResponse { score: number; rank: number; updated: boolean; window: BoardWindow | null }
export interface GetTopResponse { entries: Entry[]; memberCount: number; window: BoardWindow | null }
export interface GetRankResponse { entry: Entry | null; memberCount: number; window: BoardWindow | null }
export interface GetAroundResponse { entries: Entry[]; memberCount: number; window: BoardWindow | null }
export interface CounterResponse { value: number; windowEndsAt: Timestamp | null; windowRemaining: Duration | null }
export interface GetCounterResponse extends CounterResponse { found: boolean }

export interface PublishResponse { receiverCount: number; localReceiverCount: number; messageId: string; publishedAt: Timestamp | null }
export interface SubscribedEvent { channels: string[]; patterns: string[]; resumeIds: Record<string, string>; heartbeatInterval: { seconds: number; nanos: number } | null }
export interface MessageEvent { type: 'message'; channel: string; pattern: string; payload: Buffer; messageId: string; publishedAt: Timestamp | null }
export interface MissedEvent { type: 'missed'; reason: 'MISSED_REASON_SLOW_SUBSCRIBER' | 'MISSED_REASON_TRIMMED' | 'MISSED_REASON_UNSPECIFIED'; missedCount: number; channel: string }

export class Subscription implements AsyncIterable<MessageEvent | MissedEvent> {
  /** The SubscribedEvent, once ready() resolved. */
  subscribed: SubscribedEvent | null;
  /** Milliseconds of silence after which iteration throws StreamStalled; null without heartbeats. */
  stallAfterMs: number | null;
  /** Resolves once every subscription is active (within the client's timeout). */
  ready(): Promise<SubscribedEvent>;
  [Symbol.asyncIterator](): AsyncGenerator<MessageEvent | MissedEvent, void, undefined>;
  cancel(): void;
}

// -- the client ------------------------------------------------------------------

export class CacheCar {
  constructor(target?: string, options?: CacheCarOptions);
  readonly target: string;
  readonly timeout: number;
  readonly backoff: Backoff;
  close(): void;

  getOrLoad(namespace: string, key: string, opts?: CallOptions): Promise<GetOrLoadResponse>;
  getOrLoadMany(namespace: string, keys: Iterable<string>, opts?: CallOptions): Promise<GetOrLoadResult[]>;
  get(namespace: string, key: string, opts?: CallOptions): Promise<GetResponse>;
  set(namespace: string, key: string, value: Bytes, opts?: CallOptions & WriteOptions & { ttl?: number }): Promise<number>;
  invalidate(
    namespace: string,
    keys: string | Iterable<string>,
    opts?: CallOptions & { version?: number },
  ): Promise<number>;
  getMany(namespace: string, keys: Iterable<string>, opts?: CallOptions): Promise<GetResult[]>;
  setMany(namespace: string, items: Iterable<SetItem>, opts?: CallOptions & { ttl?: number }): Promise<SetResult[]>;
  touch(namespace: string, key: string, opts?: CallOptions & { ttl?: number }): Promise<boolean>;
  invalidateTags(namespace: string, tags: string | Iterable<string>, opts?: CallOptions): Promise<void>;
  writeThrough(
    namespace: string,
    key: string,
    value: Bytes | null,
    opts: CallOptions & WriteOptions & { delete?: boolean; withVersion: true },
  ): Promise<Written>;
  writeThrough(
    namespace: string,
    key: string,
    value: Bytes | null,
    opts?: CallOptions & WriteOptions & { delete?: boolean; withVersion?: false },
  ): Promise<string>;
  enqueueWrite(
    namespace: string,
    key: string,
    value: Bytes | null,
    opts: CallOptions & Omit<WriteOptions, 'tags'> & { delete?: boolean; withVersion: true },
  ): Promise<Written>;
  enqueueWrite(
    namespace: string,
    key: string,
    value: Bytes | null,
    opts?: CallOptions & Omit<WriteOptions, 'tags'> & { delete?: boolean; withVersion?: false },
  ): Promise<string>;
  getWriteQueue(namespace: string, opts?: CallOptions): Promise<GetWriteQueueResponse>;
  flushWrites(namespace: string, opts?: CallOptions): Promise<FlushWritesResponse>;
  replayDeadLetters(namespace: string, opts?: CallOptions & { limit?: number }): Promise<number>;

  createSession(namespace: string, subject?: string, data?: Record<string, Bytes>, opts?: CallOptions & { ttl?: number }): Promise<CreateSessionResponse>;
  getSession(namespace: string, sessionId: string, opts?: CallOptions): Promise<GetSessionResponse>;
  updateSession(namespace: string, sessionId: string, setFields?: Record<string, Bytes>, deleteFields?: Iterable<string>, opts?: CallOptions & { expectedVersion?: number }): Promise<UpdateSessionResponse>;
  touchSession(namespace: string, sessionId: string, opts?: CallOptions): Promise<TouchSessionResponse>;
  deleteSession(namespace: string, sessionId: string, opts?: CallOptions): Promise<boolean>;
  deleteSubjectSessions(namespace: string, subject: string, opts?: CallOptions): Promise<number>;

  addScore(namespace: string, board: string, member: string, score: number, opts?: CallOptions & { mode?: ScoreMode }): Promise<AddScoreResponse>;
  getTop(namespace: string, board: string, opts?: CallOptions & { limit?: number; offset?: number; windowsAgo?: number }): Promise<GetTopResponse>;
  getRank(namespace: string, board: string, member: string, opts?: CallOptions & { windowsAgo?: number }): Promise<GetRankResponse>;
  getAround(namespace: string, board: string, member: string, opts?: CallOptions & { count?: number; windowsAgo?: number }): Promise<GetAroundResponse>;
  removeMember(namespace: string, board: string, member: string, opts?: CallOptions & { windowsAgo?: number }): Promise<boolean>;
  incrementCounter(namespace: string, counter: string, delta?: number, opts?: CallOptions & { window?: number }): Promise<CounterResponse>;
  getCounter(namespace: string, counter: string, opts?: CallOptions): Promise<GetCounterResponse>;

  publish(namespace: string, channel: string, payload: Bytes, opts?: CallOptions): Promise<PublishResponse>;
  subscribe(namespace: string, channels?: Iterable<string>, opts?: { patterns?: Iterable<string>; resumeIds?: Record<string, string>; start?: 'latest' | 'oldest'; timeout?: number }): Subscription;
}

// -- serving the app's Loader / Writer ------------------------------------------------

export interface Write {
  namespace: string; key: string; value: Buffer; writeId: string; delete: boolean; acceptedAt: Date | null;
  /** Write-behind only: the key's sequence (fixed-width; compare as strings) and the batch's owner epoch. */
  sequence: string; ownerEpoch: number;
  /** Write-behind: the cache entry's version; write-through: the caller's (0 if none). */
  version: number;
}
/** Per key, the highest (ownerEpoch, sequence) applied; admits only higher writes. */
export class WriteFence {
  refused: number;
  appliedMark(namespace: string, key: string): [number, string] | undefined;
  fresh(writes: Write[]): Write[];
  applied(writes: Write[]): void;
}
export type LoadResult = Bytes | { value: Bytes; ttl?: number } | null | undefined;
export interface AppServer { readonly target: string; close(graceMs?: number): Promise<void> }
export function serveApp(options: {
  load?: (namespace: string, key: string, info: { deadline: Date | number }) => Promise<LoadResult>;
  write?: (write: Write) => Promise<void>;
  writeBatch?: (writes: Write[]) => Promise<void>;
  address?: string;
  fence?: WriteFence;
}): Promise<AppServer>;

/** The grpc-js service constructors and message types of cachecar.v1, for direct use. */
export const v1: Record<string, any>;
export type { Metadata };
