package dev.cachecar.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * SessionService is a session store: session records made of named fields,
 * each session owned by a subject (a user or other principal), with sliding
 * expiry bounded by an absolute maximum lifetime, per-field updates and
 * revocation of all sessions of a subject at once. It works on Redis and on
 * Memcached namespaces; only DeleteSubjectSessions needs Redis.
 * Session ids are bearer secrets: cachecar never logs them or puts them in
 * traces, and neither should the application. Calls that name a session
 * which does not exist or has expired fail with NOT_FOUND and reason
 * SESSION_NOT_FOUND; calls with a malformed session id fail with
 * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
 * backend.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class SessionServiceGrpc {

  private SessionServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "cachecar.v1.SessionService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.CreateSessionRequest,
      dev.cachecar.v1.CreateSessionResponse> getCreateSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateSession",
      requestType = dev.cachecar.v1.CreateSessionRequest.class,
      responseType = dev.cachecar.v1.CreateSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.CreateSessionRequest,
      dev.cachecar.v1.CreateSessionResponse> getCreateSessionMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.CreateSessionRequest, dev.cachecar.v1.CreateSessionResponse> getCreateSessionMethod;
    if ((getCreateSessionMethod = SessionServiceGrpc.getCreateSessionMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getCreateSessionMethod = SessionServiceGrpc.getCreateSessionMethod) == null) {
          SessionServiceGrpc.getCreateSessionMethod = getCreateSessionMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.CreateSessionRequest, dev.cachecar.v1.CreateSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.CreateSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.CreateSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("CreateSession"))
              .build();
        }
      }
    }
    return getCreateSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetSessionRequest,
      dev.cachecar.v1.GetSessionResponse> getGetSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSession",
      requestType = dev.cachecar.v1.GetSessionRequest.class,
      responseType = dev.cachecar.v1.GetSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetSessionRequest,
      dev.cachecar.v1.GetSessionResponse> getGetSessionMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetSessionRequest, dev.cachecar.v1.GetSessionResponse> getGetSessionMethod;
    if ((getGetSessionMethod = SessionServiceGrpc.getGetSessionMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getGetSessionMethod = SessionServiceGrpc.getGetSessionMethod) == null) {
          SessionServiceGrpc.getGetSessionMethod = getGetSessionMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetSessionRequest, dev.cachecar.v1.GetSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("GetSession"))
              .build();
        }
      }
    }
    return getGetSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.UpdateSessionRequest,
      dev.cachecar.v1.UpdateSessionResponse> getUpdateSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateSession",
      requestType = dev.cachecar.v1.UpdateSessionRequest.class,
      responseType = dev.cachecar.v1.UpdateSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.UpdateSessionRequest,
      dev.cachecar.v1.UpdateSessionResponse> getUpdateSessionMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.UpdateSessionRequest, dev.cachecar.v1.UpdateSessionResponse> getUpdateSessionMethod;
    if ((getUpdateSessionMethod = SessionServiceGrpc.getUpdateSessionMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getUpdateSessionMethod = SessionServiceGrpc.getUpdateSessionMethod) == null) {
          SessionServiceGrpc.getUpdateSessionMethod = getUpdateSessionMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.UpdateSessionRequest, dev.cachecar.v1.UpdateSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.UpdateSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.UpdateSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("UpdateSession"))
              .build();
        }
      }
    }
    return getUpdateSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.TouchSessionRequest,
      dev.cachecar.v1.TouchSessionResponse> getTouchSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "TouchSession",
      requestType = dev.cachecar.v1.TouchSessionRequest.class,
      responseType = dev.cachecar.v1.TouchSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.TouchSessionRequest,
      dev.cachecar.v1.TouchSessionResponse> getTouchSessionMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.TouchSessionRequest, dev.cachecar.v1.TouchSessionResponse> getTouchSessionMethod;
    if ((getTouchSessionMethod = SessionServiceGrpc.getTouchSessionMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getTouchSessionMethod = SessionServiceGrpc.getTouchSessionMethod) == null) {
          SessionServiceGrpc.getTouchSessionMethod = getTouchSessionMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.TouchSessionRequest, dev.cachecar.v1.TouchSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "TouchSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.TouchSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.TouchSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("TouchSession"))
              .build();
        }
      }
    }
    return getTouchSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSessionRequest,
      dev.cachecar.v1.DeleteSessionResponse> getDeleteSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteSession",
      requestType = dev.cachecar.v1.DeleteSessionRequest.class,
      responseType = dev.cachecar.v1.DeleteSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSessionRequest,
      dev.cachecar.v1.DeleteSessionResponse> getDeleteSessionMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSessionRequest, dev.cachecar.v1.DeleteSessionResponse> getDeleteSessionMethod;
    if ((getDeleteSessionMethod = SessionServiceGrpc.getDeleteSessionMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getDeleteSessionMethod = SessionServiceGrpc.getDeleteSessionMethod) == null) {
          SessionServiceGrpc.getDeleteSessionMethod = getDeleteSessionMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.DeleteSessionRequest, dev.cachecar.v1.DeleteSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.DeleteSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.DeleteSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("DeleteSession"))
              .build();
        }
      }
    }
    return getDeleteSessionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSubjectSessionsRequest,
      dev.cachecar.v1.DeleteSubjectSessionsResponse> getDeleteSubjectSessionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteSubjectSessions",
      requestType = dev.cachecar.v1.DeleteSubjectSessionsRequest.class,
      responseType = dev.cachecar.v1.DeleteSubjectSessionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSubjectSessionsRequest,
      dev.cachecar.v1.DeleteSubjectSessionsResponse> getDeleteSubjectSessionsMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.DeleteSubjectSessionsRequest, dev.cachecar.v1.DeleteSubjectSessionsResponse> getDeleteSubjectSessionsMethod;
    if ((getDeleteSubjectSessionsMethod = SessionServiceGrpc.getDeleteSubjectSessionsMethod) == null) {
      synchronized (SessionServiceGrpc.class) {
        if ((getDeleteSubjectSessionsMethod = SessionServiceGrpc.getDeleteSubjectSessionsMethod) == null) {
          SessionServiceGrpc.getDeleteSubjectSessionsMethod = getDeleteSubjectSessionsMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.DeleteSubjectSessionsRequest, dev.cachecar.v1.DeleteSubjectSessionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteSubjectSessions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.DeleteSubjectSessionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.DeleteSubjectSessionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SessionServiceMethodDescriptorSupplier("DeleteSubjectSessions"))
              .build();
        }
      }
    }
    return getDeleteSubjectSessionsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static SessionServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SessionServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SessionServiceStub>() {
        @java.lang.Override
        public SessionServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SessionServiceStub(channel, callOptions);
        }
      };
    return SessionServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static SessionServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SessionServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SessionServiceBlockingV2Stub>() {
        @java.lang.Override
        public SessionServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SessionServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return SessionServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static SessionServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SessionServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SessionServiceBlockingStub>() {
        @java.lang.Override
        public SessionServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SessionServiceBlockingStub(channel, callOptions);
        }
      };
    return SessionServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static SessionServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SessionServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SessionServiceFutureStub>() {
        @java.lang.Override
        public SessionServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SessionServiceFutureStub(channel, callOptions);
        }
      };
    return SessionServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * CreateSession starts a new session for a subject, with its initial data
     * fields, and returns its freshly generated session id.
     * </pre>
     */
    default void createSession(dev.cachecar.v1.CreateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.CreateSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetSession reads a session. A read counts as activity: it slides the
     * session's expiry forward by its TTL, never past its absolute expiry.
     * Fails with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist
     * or has expired.
     * </pre>
     */
    default void getSession(dev.cachecar.v1.GetSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * UpdateSession sets and deletes individual fields of a session in one
     * atomic step, optionally only if the session is still at an expected
     * version (compare-and-set). It also slides the expiry like a read. Fails
     * with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired, and with ABORTED / SESSION_VERSION_MISMATCH if expected_version
     * is set and the session has moved on; nothing is changed then.
     * </pre>
     */
    default void updateSession(dev.cachecar.v1.UpdateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.UpdateSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * TouchSession slides a session's expiry forward by its TTL, never past its
     * absolute expiry, without reading or changing its data. Fails with
     * NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired.
     * </pre>
     */
    default void touchSession(dev.cachecar.v1.TouchSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTouchSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteSession ends a session now (logout). Deleting a session that does
     * not exist or has already expired is not an error: the call is idempotent
     * and reports deleted=false.
     * </pre>
     */
    default void deleteSession(dev.cachecar.v1.DeleteSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteSessionMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteSubjectSessions ends every session of a subject at once (for
     * example after a password change). Redis namespaces only: a Memcached
     * namespace cannot enumerate a subject's sessions and answers
     * FAILED_PRECONDITION with reason NOT_SUPPORTED_BY_BACKEND.
     * </pre>
     */
    default void deleteSubjectSessions(dev.cachecar.v1.DeleteSubjectSessionsRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSubjectSessionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteSubjectSessionsMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SessionService.
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public static abstract class SessionServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return SessionServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service SessionService.
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public static final class SessionServiceStub
      extends io.grpc.stub.AbstractAsyncStub<SessionServiceStub> {
    private SessionServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SessionServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SessionServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateSession starts a new session for a subject, with its initial data
     * fields, and returns its freshly generated session id.
     * </pre>
     */
    public void createSession(dev.cachecar.v1.CreateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.CreateSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetSession reads a session. A read counts as activity: it slides the
     * session's expiry forward by its TTL, never past its absolute expiry.
     * Fails with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist
     * or has expired.
     * </pre>
     */
    public void getSession(dev.cachecar.v1.GetSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * UpdateSession sets and deletes individual fields of a session in one
     * atomic step, optionally only if the session is still at an expected
     * version (compare-and-set). It also slides the expiry like a read. Fails
     * with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired, and with ABORTED / SESSION_VERSION_MISMATCH if expected_version
     * is set and the session has moved on; nothing is changed then.
     * </pre>
     */
    public void updateSession(dev.cachecar.v1.UpdateSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.UpdateSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * TouchSession slides a session's expiry forward by its TTL, never past its
     * absolute expiry, without reading or changing its data. Fails with
     * NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired.
     * </pre>
     */
    public void touchSession(dev.cachecar.v1.TouchSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTouchSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteSession ends a session now (logout). Deleting a session that does
     * not exist or has already expired is not an error: the call is idempotent
     * and reports deleted=false.
     * </pre>
     */
    public void deleteSession(dev.cachecar.v1.DeleteSessionRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteSessionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteSubjectSessions ends every session of a subject at once (for
     * example after a password change). Redis namespaces only: a Memcached
     * namespace cannot enumerate a subject's sessions and answers
     * FAILED_PRECONDITION with reason NOT_SUPPORTED_BY_BACKEND.
     * </pre>
     */
    public void deleteSubjectSessions(dev.cachecar.v1.DeleteSubjectSessionsRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSubjectSessionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteSubjectSessionsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SessionService.
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public static final class SessionServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<SessionServiceBlockingV2Stub> {
    private SessionServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SessionServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SessionServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateSession starts a new session for a subject, with its initial data
     * fields, and returns its freshly generated session id.
     * </pre>
     */
    public dev.cachecar.v1.CreateSessionResponse createSession(dev.cachecar.v1.CreateSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSession reads a session. A read counts as activity: it slides the
     * session's expiry forward by its TTL, never past its absolute expiry.
     * Fails with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist
     * or has expired.
     * </pre>
     */
    public dev.cachecar.v1.GetSessionResponse getSession(dev.cachecar.v1.GetSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * UpdateSession sets and deletes individual fields of a session in one
     * atomic step, optionally only if the session is still at an expected
     * version (compare-and-set). It also slides the expiry like a read. Fails
     * with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired, and with ABORTED / SESSION_VERSION_MISMATCH if expected_version
     * is set and the session has moved on; nothing is changed then.
     * </pre>
     */
    public dev.cachecar.v1.UpdateSessionResponse updateSession(dev.cachecar.v1.UpdateSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * TouchSession slides a session's expiry forward by its TTL, never past its
     * absolute expiry, without reading or changing its data. Fails with
     * NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired.
     * </pre>
     */
    public dev.cachecar.v1.TouchSessionResponse touchSession(dev.cachecar.v1.TouchSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTouchSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteSession ends a session now (logout). Deleting a session that does
     * not exist or has already expired is not an error: the call is idempotent
     * and reports deleted=false.
     * </pre>
     */
    public dev.cachecar.v1.DeleteSessionResponse deleteSession(dev.cachecar.v1.DeleteSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteSubjectSessions ends every session of a subject at once (for
     * example after a password change). Redis namespaces only: a Memcached
     * namespace cannot enumerate a subject's sessions and answers
     * FAILED_PRECONDITION with reason NOT_SUPPORTED_BY_BACKEND.
     * </pre>
     */
    public dev.cachecar.v1.DeleteSubjectSessionsResponse deleteSubjectSessions(dev.cachecar.v1.DeleteSubjectSessionsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteSubjectSessionsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SessionService.
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public static final class SessionServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<SessionServiceBlockingStub> {
    private SessionServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SessionServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SessionServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateSession starts a new session for a subject, with its initial data
     * fields, and returns its freshly generated session id.
     * </pre>
     */
    public dev.cachecar.v1.CreateSessionResponse createSession(dev.cachecar.v1.CreateSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSession reads a session. A read counts as activity: it slides the
     * session's expiry forward by its TTL, never past its absolute expiry.
     * Fails with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist
     * or has expired.
     * </pre>
     */
    public dev.cachecar.v1.GetSessionResponse getSession(dev.cachecar.v1.GetSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * UpdateSession sets and deletes individual fields of a session in one
     * atomic step, optionally only if the session is still at an expected
     * version (compare-and-set). It also slides the expiry like a read. Fails
     * with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired, and with ABORTED / SESSION_VERSION_MISMATCH if expected_version
     * is set and the session has moved on; nothing is changed then.
     * </pre>
     */
    public dev.cachecar.v1.UpdateSessionResponse updateSession(dev.cachecar.v1.UpdateSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * TouchSession slides a session's expiry forward by its TTL, never past its
     * absolute expiry, without reading or changing its data. Fails with
     * NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired.
     * </pre>
     */
    public dev.cachecar.v1.TouchSessionResponse touchSession(dev.cachecar.v1.TouchSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTouchSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteSession ends a session now (logout). Deleting a session that does
     * not exist or has already expired is not an error: the call is idempotent
     * and reports deleted=false.
     * </pre>
     */
    public dev.cachecar.v1.DeleteSessionResponse deleteSession(dev.cachecar.v1.DeleteSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteSessionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteSubjectSessions ends every session of a subject at once (for
     * example after a password change). Redis namespaces only: a Memcached
     * namespace cannot enumerate a subject's sessions and answers
     * FAILED_PRECONDITION with reason NOT_SUPPORTED_BY_BACKEND.
     * </pre>
     */
    public dev.cachecar.v1.DeleteSubjectSessionsResponse deleteSubjectSessions(dev.cachecar.v1.DeleteSubjectSessionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteSubjectSessionsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SessionService.
   * <pre>
   * SessionService is a session store: session records made of named fields,
   * each session owned by a subject (a user or other principal), with sliding
   * expiry bounded by an absolute maximum lifetime, per-field updates and
   * revocation of all sessions of a subject at once. It works on Redis and on
   * Memcached namespaces; only DeleteSubjectSessions needs Redis.
   * Session ids are bearer secrets: cachecar never logs them or puts them in
   * traces, and neither should the application. Calls that name a session
   * which does not exist or has expired fail with NOT_FOUND and reason
   * SESSION_NOT_FOUND; calls with a malformed session id fail with
   * INVALID_ARGUMENT and reason SESSION_ID_INVALID, without touching the
   * backend.
   * </pre>
   */
  public static final class SessionServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<SessionServiceFutureStub> {
    private SessionServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SessionServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SessionServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * CreateSession starts a new session for a subject, with its initial data
     * fields, and returns its freshly generated session id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.CreateSessionResponse> createSession(
        dev.cachecar.v1.CreateSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetSession reads a session. A read counts as activity: it slides the
     * session's expiry forward by its TTL, never past its absolute expiry.
     * Fails with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist
     * or has expired.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetSessionResponse> getSession(
        dev.cachecar.v1.GetSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * UpdateSession sets and deletes individual fields of a session in one
     * atomic step, optionally only if the session is still at an expected
     * version (compare-and-set). It also slides the expiry like a read. Fails
     * with NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired, and with ABORTED / SESSION_VERSION_MISMATCH if expected_version
     * is set and the session has moved on; nothing is changed then.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.UpdateSessionResponse> updateSession(
        dev.cachecar.v1.UpdateSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * TouchSession slides a session's expiry forward by its TTL, never past its
     * absolute expiry, without reading or changing its data. Fails with
     * NOT_FOUND / SESSION_NOT_FOUND if the session does not exist or has
     * expired.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.TouchSessionResponse> touchSession(
        dev.cachecar.v1.TouchSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTouchSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteSession ends a session now (logout). Deleting a session that does
     * not exist or has already expired is not an error: the call is idempotent
     * and reports deleted=false.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.DeleteSessionResponse> deleteSession(
        dev.cachecar.v1.DeleteSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteSessionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteSubjectSessions ends every session of a subject at once (for
     * example after a password change). Redis namespaces only: a Memcached
     * namespace cannot enumerate a subject's sessions and answers
     * FAILED_PRECONDITION with reason NOT_SUPPORTED_BY_BACKEND.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.DeleteSubjectSessionsResponse> deleteSubjectSessions(
        dev.cachecar.v1.DeleteSubjectSessionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteSubjectSessionsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_SESSION = 0;
  private static final int METHODID_GET_SESSION = 1;
  private static final int METHODID_UPDATE_SESSION = 2;
  private static final int METHODID_TOUCH_SESSION = 3;
  private static final int METHODID_DELETE_SESSION = 4;
  private static final int METHODID_DELETE_SUBJECT_SESSIONS = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_SESSION:
          serviceImpl.createSession((dev.cachecar.v1.CreateSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.CreateSessionResponse>) responseObserver);
          break;
        case METHODID_GET_SESSION:
          serviceImpl.getSession((dev.cachecar.v1.GetSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetSessionResponse>) responseObserver);
          break;
        case METHODID_UPDATE_SESSION:
          serviceImpl.updateSession((dev.cachecar.v1.UpdateSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.UpdateSessionResponse>) responseObserver);
          break;
        case METHODID_TOUCH_SESSION:
          serviceImpl.touchSession((dev.cachecar.v1.TouchSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchSessionResponse>) responseObserver);
          break;
        case METHODID_DELETE_SESSION:
          serviceImpl.deleteSession((dev.cachecar.v1.DeleteSessionRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSessionResponse>) responseObserver);
          break;
        case METHODID_DELETE_SUBJECT_SESSIONS:
          serviceImpl.deleteSubjectSessions((dev.cachecar.v1.DeleteSubjectSessionsRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.DeleteSubjectSessionsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.CreateSessionRequest,
              dev.cachecar.v1.CreateSessionResponse>(
                service, METHODID_CREATE_SESSION)))
        .addMethod(
          getGetSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetSessionRequest,
              dev.cachecar.v1.GetSessionResponse>(
                service, METHODID_GET_SESSION)))
        .addMethod(
          getUpdateSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.UpdateSessionRequest,
              dev.cachecar.v1.UpdateSessionResponse>(
                service, METHODID_UPDATE_SESSION)))
        .addMethod(
          getTouchSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.TouchSessionRequest,
              dev.cachecar.v1.TouchSessionResponse>(
                service, METHODID_TOUCH_SESSION)))
        .addMethod(
          getDeleteSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.DeleteSessionRequest,
              dev.cachecar.v1.DeleteSessionResponse>(
                service, METHODID_DELETE_SESSION)))
        .addMethod(
          getDeleteSubjectSessionsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.DeleteSubjectSessionsRequest,
              dev.cachecar.v1.DeleteSubjectSessionsResponse>(
                service, METHODID_DELETE_SUBJECT_SESSIONS)))
        .build();
  }

  private static abstract class SessionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    SessionServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.cachecar.v1.SessionProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("SessionService");
    }
  }

  private static final class SessionServiceFileDescriptorSupplier
      extends SessionServiceBaseDescriptorSupplier {
    SessionServiceFileDescriptorSupplier() {}
  }

  private static final class SessionServiceMethodDescriptorSupplier
      extends SessionServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    SessionServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (SessionServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new SessionServiceFileDescriptorSupplier())
              .addMethod(getCreateSessionMethod())
              .addMethod(getGetSessionMethod())
              .addMethod(getUpdateSessionMethod())
              .addMethod(getTouchSessionMethod())
              .addMethod(getDeleteSessionMethod())
              .addMethod(getDeleteSubjectSessionsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
