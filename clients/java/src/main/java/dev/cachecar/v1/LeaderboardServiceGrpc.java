package dev.cachecar.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * LeaderboardService keeps leaderboards (members ranked by a double score)
 * and counters (atomic int64 values, optionally in fixed windows for rate
 * limits). Boards and counters live in a namespace and are created by their
 * first write; a board that was never written reads as empty.
 * Ranking: rank 1 is the best score, which is the highest score unless the
 * board is configured to rank the lowest first. Among equal scores, the
 * member who reached that score first ranks first.
 * Windows: a board may be declared daily, weekly or monthly in cachecar's
 * config. Writes always go to the current window; reads select a window with
 * windows_ago (0 = the current window, 1 = the one before it, and so on, as
 * far back as the board's configured retention). Old windows expire.
 * Redis only: a Memcached namespace answers every call with
 * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class LeaderboardServiceGrpc {

  private LeaderboardServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "cachecar.v1.LeaderboardService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.AddScoreRequest,
      dev.cachecar.v1.AddScoreResponse> getAddScoreMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddScore",
      requestType = dev.cachecar.v1.AddScoreRequest.class,
      responseType = dev.cachecar.v1.AddScoreResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.AddScoreRequest,
      dev.cachecar.v1.AddScoreResponse> getAddScoreMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.AddScoreRequest, dev.cachecar.v1.AddScoreResponse> getAddScoreMethod;
    if ((getAddScoreMethod = LeaderboardServiceGrpc.getAddScoreMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getAddScoreMethod = LeaderboardServiceGrpc.getAddScoreMethod) == null) {
          LeaderboardServiceGrpc.getAddScoreMethod = getAddScoreMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.AddScoreRequest, dev.cachecar.v1.AddScoreResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddScore"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.AddScoreRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.AddScoreResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("AddScore"))
              .build();
        }
      }
    }
    return getAddScoreMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetTopRequest,
      dev.cachecar.v1.GetTopResponse> getGetTopMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetTop",
      requestType = dev.cachecar.v1.GetTopRequest.class,
      responseType = dev.cachecar.v1.GetTopResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetTopRequest,
      dev.cachecar.v1.GetTopResponse> getGetTopMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetTopRequest, dev.cachecar.v1.GetTopResponse> getGetTopMethod;
    if ((getGetTopMethod = LeaderboardServiceGrpc.getGetTopMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getGetTopMethod = LeaderboardServiceGrpc.getGetTopMethod) == null) {
          LeaderboardServiceGrpc.getGetTopMethod = getGetTopMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetTopRequest, dev.cachecar.v1.GetTopResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetTop"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetTopRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetTopResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("GetTop"))
              .build();
        }
      }
    }
    return getGetTopMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetRankRequest,
      dev.cachecar.v1.GetRankResponse> getGetRankMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetRank",
      requestType = dev.cachecar.v1.GetRankRequest.class,
      responseType = dev.cachecar.v1.GetRankResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetRankRequest,
      dev.cachecar.v1.GetRankResponse> getGetRankMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetRankRequest, dev.cachecar.v1.GetRankResponse> getGetRankMethod;
    if ((getGetRankMethod = LeaderboardServiceGrpc.getGetRankMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getGetRankMethod = LeaderboardServiceGrpc.getGetRankMethod) == null) {
          LeaderboardServiceGrpc.getGetRankMethod = getGetRankMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetRankRequest, dev.cachecar.v1.GetRankResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetRank"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetRankRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetRankResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("GetRank"))
              .build();
        }
      }
    }
    return getGetRankMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetAroundRequest,
      dev.cachecar.v1.GetAroundResponse> getGetAroundMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetAround",
      requestType = dev.cachecar.v1.GetAroundRequest.class,
      responseType = dev.cachecar.v1.GetAroundResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetAroundRequest,
      dev.cachecar.v1.GetAroundResponse> getGetAroundMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetAroundRequest, dev.cachecar.v1.GetAroundResponse> getGetAroundMethod;
    if ((getGetAroundMethod = LeaderboardServiceGrpc.getGetAroundMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getGetAroundMethod = LeaderboardServiceGrpc.getGetAroundMethod) == null) {
          LeaderboardServiceGrpc.getGetAroundMethod = getGetAroundMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetAroundRequest, dev.cachecar.v1.GetAroundResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetAround"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetAroundRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetAroundResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("GetAround"))
              .build();
        }
      }
    }
    return getGetAroundMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.RemoveMemberRequest,
      dev.cachecar.v1.RemoveMemberResponse> getRemoveMemberMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RemoveMember",
      requestType = dev.cachecar.v1.RemoveMemberRequest.class,
      responseType = dev.cachecar.v1.RemoveMemberResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.RemoveMemberRequest,
      dev.cachecar.v1.RemoveMemberResponse> getRemoveMemberMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.RemoveMemberRequest, dev.cachecar.v1.RemoveMemberResponse> getRemoveMemberMethod;
    if ((getRemoveMemberMethod = LeaderboardServiceGrpc.getRemoveMemberMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getRemoveMemberMethod = LeaderboardServiceGrpc.getRemoveMemberMethod) == null) {
          LeaderboardServiceGrpc.getRemoveMemberMethod = getRemoveMemberMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.RemoveMemberRequest, dev.cachecar.v1.RemoveMemberResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RemoveMember"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.RemoveMemberRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.RemoveMemberResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("RemoveMember"))
              .build();
        }
      }
    }
    return getRemoveMemberMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.IncrementCounterRequest,
      dev.cachecar.v1.IncrementCounterResponse> getIncrementCounterMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "IncrementCounter",
      requestType = dev.cachecar.v1.IncrementCounterRequest.class,
      responseType = dev.cachecar.v1.IncrementCounterResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.IncrementCounterRequest,
      dev.cachecar.v1.IncrementCounterResponse> getIncrementCounterMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.IncrementCounterRequest, dev.cachecar.v1.IncrementCounterResponse> getIncrementCounterMethod;
    if ((getIncrementCounterMethod = LeaderboardServiceGrpc.getIncrementCounterMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getIncrementCounterMethod = LeaderboardServiceGrpc.getIncrementCounterMethod) == null) {
          LeaderboardServiceGrpc.getIncrementCounterMethod = getIncrementCounterMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.IncrementCounterRequest, dev.cachecar.v1.IncrementCounterResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "IncrementCounter"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.IncrementCounterRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.IncrementCounterResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("IncrementCounter"))
              .build();
        }
      }
    }
    return getIncrementCounterMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetCounterRequest,
      dev.cachecar.v1.GetCounterResponse> getGetCounterMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetCounter",
      requestType = dev.cachecar.v1.GetCounterRequest.class,
      responseType = dev.cachecar.v1.GetCounterResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetCounterRequest,
      dev.cachecar.v1.GetCounterResponse> getGetCounterMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetCounterRequest, dev.cachecar.v1.GetCounterResponse> getGetCounterMethod;
    if ((getGetCounterMethod = LeaderboardServiceGrpc.getGetCounterMethod) == null) {
      synchronized (LeaderboardServiceGrpc.class) {
        if ((getGetCounterMethod = LeaderboardServiceGrpc.getGetCounterMethod) == null) {
          LeaderboardServiceGrpc.getGetCounterMethod = getGetCounterMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetCounterRequest, dev.cachecar.v1.GetCounterResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetCounter"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetCounterRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetCounterResponse.getDefaultInstance()))
              .setSchemaDescriptor(new LeaderboardServiceMethodDescriptorSupplier("GetCounter"))
              .build();
        }
      }
    }
    return getGetCounterMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static LeaderboardServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceStub>() {
        @java.lang.Override
        public LeaderboardServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new LeaderboardServiceStub(channel, callOptions);
        }
      };
    return LeaderboardServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static LeaderboardServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceBlockingV2Stub>() {
        @java.lang.Override
        public LeaderboardServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new LeaderboardServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return LeaderboardServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static LeaderboardServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceBlockingStub>() {
        @java.lang.Override
        public LeaderboardServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new LeaderboardServiceBlockingStub(channel, callOptions);
        }
      };
    return LeaderboardServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static LeaderboardServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<LeaderboardServiceFutureStub>() {
        @java.lang.Override
        public LeaderboardServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new LeaderboardServiceFutureStub(channel, callOptions);
        }
      };
    return LeaderboardServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * AddScore sets or changes a member's score on a board, as its mode says,
     * and returns the member's resulting score and rank.
     * </pre>
     */
    default void addScore(dev.cachecar.v1.AddScoreRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.AddScoreResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddScoreMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetTop returns one page of a board's entries, best first.
     * </pre>
     */
    default void getTop(dev.cachecar.v1.GetTopRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetTopResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetTopMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetRank returns a member's rank and score. Fails with NOT_FOUND and
     * reason MEMBER_NOT_FOUND if the member is not on the board (in the
     * selected window).
     * </pre>
     */
    default void getRank(dev.cachecar.v1.GetRankRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetRankResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetRankMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetAround returns a member's entry with the entries ranked just above and
     * just below it. Fails with NOT_FOUND and reason MEMBER_NOT_FOUND if the
     * member is not on the board (in the selected window).
     * </pre>
     */
    default void getAround(dev.cachecar.v1.GetAroundRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetAroundResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetAroundMethod(), responseObserver);
    }

    /**
     * <pre>
     * RemoveMember removes a member from a board. Removing a member that is not
     * on the board is not an error; the call reports removed=false.
     * </pre>
     */
    default void removeMember(dev.cachecar.v1.RemoveMemberRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.RemoveMemberResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRemoveMemberMethod(), responseObserver);
    }

    /**
     * <pre>
     * IncrementCounter atomically adds a delta to a counter and returns its new
     * value. With a window, the counter lives in a fixed window that starts at
     * its first increment, so a fixed-window rate limit is one call: increment,
     * then compare the returned value with the limit.
     * </pre>
     */
    default void incrementCounter(dev.cachecar.v1.IncrementCounterRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.IncrementCounterResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getIncrementCounterMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetCounter reads a counter without changing it. A counter that does not
     * exist, or whose window has ended, reads as found=false with value 0.
     * </pre>
     */
    default void getCounter(dev.cachecar.v1.GetCounterRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetCounterResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetCounterMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service LeaderboardService.
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static abstract class LeaderboardServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return LeaderboardServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service LeaderboardService.
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class LeaderboardServiceStub
      extends io.grpc.stub.AbstractAsyncStub<LeaderboardServiceStub> {
    private LeaderboardServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected LeaderboardServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new LeaderboardServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * AddScore sets or changes a member's score on a board, as its mode says,
     * and returns the member's resulting score and rank.
     * </pre>
     */
    public void addScore(dev.cachecar.v1.AddScoreRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.AddScoreResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddScoreMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetTop returns one page of a board's entries, best first.
     * </pre>
     */
    public void getTop(dev.cachecar.v1.GetTopRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetTopResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetTopMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetRank returns a member's rank and score. Fails with NOT_FOUND and
     * reason MEMBER_NOT_FOUND if the member is not on the board (in the
     * selected window).
     * </pre>
     */
    public void getRank(dev.cachecar.v1.GetRankRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetRankResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetRankMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetAround returns a member's entry with the entries ranked just above and
     * just below it. Fails with NOT_FOUND and reason MEMBER_NOT_FOUND if the
     * member is not on the board (in the selected window).
     * </pre>
     */
    public void getAround(dev.cachecar.v1.GetAroundRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetAroundResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetAroundMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * RemoveMember removes a member from a board. Removing a member that is not
     * on the board is not an error; the call reports removed=false.
     * </pre>
     */
    public void removeMember(dev.cachecar.v1.RemoveMemberRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.RemoveMemberResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRemoveMemberMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * IncrementCounter atomically adds a delta to a counter and returns its new
     * value. With a window, the counter lives in a fixed window that starts at
     * its first increment, so a fixed-window rate limit is one call: increment,
     * then compare the returned value with the limit.
     * </pre>
     */
    public void incrementCounter(dev.cachecar.v1.IncrementCounterRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.IncrementCounterResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getIncrementCounterMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetCounter reads a counter without changing it. A counter that does not
     * exist, or whose window has ended, reads as found=false with value 0.
     * </pre>
     */
    public void getCounter(dev.cachecar.v1.GetCounterRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetCounterResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetCounterMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service LeaderboardService.
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class LeaderboardServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<LeaderboardServiceBlockingV2Stub> {
    private LeaderboardServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected LeaderboardServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new LeaderboardServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * AddScore sets or changes a member's score on a board, as its mode says,
     * and returns the member's resulting score and rank.
     * </pre>
     */
    public dev.cachecar.v1.AddScoreResponse addScore(dev.cachecar.v1.AddScoreRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddScoreMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetTop returns one page of a board's entries, best first.
     * </pre>
     */
    public dev.cachecar.v1.GetTopResponse getTop(dev.cachecar.v1.GetTopRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetTopMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetRank returns a member's rank and score. Fails with NOT_FOUND and
     * reason MEMBER_NOT_FOUND if the member is not on the board (in the
     * selected window).
     * </pre>
     */
    public dev.cachecar.v1.GetRankResponse getRank(dev.cachecar.v1.GetRankRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetRankMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetAround returns a member's entry with the entries ranked just above and
     * just below it. Fails with NOT_FOUND and reason MEMBER_NOT_FOUND if the
     * member is not on the board (in the selected window).
     * </pre>
     */
    public dev.cachecar.v1.GetAroundResponse getAround(dev.cachecar.v1.GetAroundRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetAroundMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RemoveMember removes a member from a board. Removing a member that is not
     * on the board is not an error; the call reports removed=false.
     * </pre>
     */
    public dev.cachecar.v1.RemoveMemberResponse removeMember(dev.cachecar.v1.RemoveMemberRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRemoveMemberMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * IncrementCounter atomically adds a delta to a counter and returns its new
     * value. With a window, the counter lives in a fixed window that starts at
     * its first increment, so a fixed-window rate limit is one call: increment,
     * then compare the returned value with the limit.
     * </pre>
     */
    public dev.cachecar.v1.IncrementCounterResponse incrementCounter(dev.cachecar.v1.IncrementCounterRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getIncrementCounterMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCounter reads a counter without changing it. A counter that does not
     * exist, or whose window has ended, reads as found=false with value 0.
     * </pre>
     */
    public dev.cachecar.v1.GetCounterResponse getCounter(dev.cachecar.v1.GetCounterRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetCounterMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service LeaderboardService.
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class LeaderboardServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<LeaderboardServiceBlockingStub> {
    private LeaderboardServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected LeaderboardServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new LeaderboardServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * AddScore sets or changes a member's score on a board, as its mode says,
     * and returns the member's resulting score and rank.
     * </pre>
     */
    public dev.cachecar.v1.AddScoreResponse addScore(dev.cachecar.v1.AddScoreRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddScoreMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetTop returns one page of a board's entries, best first.
     * </pre>
     */
    public dev.cachecar.v1.GetTopResponse getTop(dev.cachecar.v1.GetTopRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetTopMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetRank returns a member's rank and score. Fails with NOT_FOUND and
     * reason MEMBER_NOT_FOUND if the member is not on the board (in the
     * selected window).
     * </pre>
     */
    public dev.cachecar.v1.GetRankResponse getRank(dev.cachecar.v1.GetRankRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetRankMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetAround returns a member's entry with the entries ranked just above and
     * just below it. Fails with NOT_FOUND and reason MEMBER_NOT_FOUND if the
     * member is not on the board (in the selected window).
     * </pre>
     */
    public dev.cachecar.v1.GetAroundResponse getAround(dev.cachecar.v1.GetAroundRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetAroundMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * RemoveMember removes a member from a board. Removing a member that is not
     * on the board is not an error; the call reports removed=false.
     * </pre>
     */
    public dev.cachecar.v1.RemoveMemberResponse removeMember(dev.cachecar.v1.RemoveMemberRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRemoveMemberMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * IncrementCounter atomically adds a delta to a counter and returns its new
     * value. With a window, the counter lives in a fixed window that starts at
     * its first increment, so a fixed-window rate limit is one call: increment,
     * then compare the returned value with the limit.
     * </pre>
     */
    public dev.cachecar.v1.IncrementCounterResponse incrementCounter(dev.cachecar.v1.IncrementCounterRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getIncrementCounterMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetCounter reads a counter without changing it. A counter that does not
     * exist, or whose window has ended, reads as found=false with value 0.
     * </pre>
     */
    public dev.cachecar.v1.GetCounterResponse getCounter(dev.cachecar.v1.GetCounterRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetCounterMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service LeaderboardService.
   * <pre>
   * LeaderboardService keeps leaderboards (members ranked by a double score)
   * and counters (atomic int64 values, optionally in fixed windows for rate
   * limits). Boards and counters live in a namespace and are created by their
   * first write; a board that was never written reads as empty.
   * Ranking: rank 1 is the best score, which is the highest score unless the
   * board is configured to rank the lowest first. Among equal scores, the
   * member who reached that score first ranks first.
   * Windows: a board may be declared daily, weekly or monthly in cachecar's
   * config. Writes always go to the current window; reads select a window with
   * windows_ago (0 = the current window, 1 = the one before it, and so on, as
   * far back as the board's configured retention). Old windows expire.
   * Redis only: a Memcached namespace answers every call with
   * FAILED_PRECONDITION and reason NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class LeaderboardServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<LeaderboardServiceFutureStub> {
    private LeaderboardServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected LeaderboardServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new LeaderboardServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * AddScore sets or changes a member's score on a board, as its mode says,
     * and returns the member's resulting score and rank.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.AddScoreResponse> addScore(
        dev.cachecar.v1.AddScoreRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddScoreMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetTop returns one page of a board's entries, best first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetTopResponse> getTop(
        dev.cachecar.v1.GetTopRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetTopMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetRank returns a member's rank and score. Fails with NOT_FOUND and
     * reason MEMBER_NOT_FOUND if the member is not on the board (in the
     * selected window).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetRankResponse> getRank(
        dev.cachecar.v1.GetRankRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetRankMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetAround returns a member's entry with the entries ranked just above and
     * just below it. Fails with NOT_FOUND and reason MEMBER_NOT_FOUND if the
     * member is not on the board (in the selected window).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetAroundResponse> getAround(
        dev.cachecar.v1.GetAroundRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetAroundMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * RemoveMember removes a member from a board. Removing a member that is not
     * on the board is not an error; the call reports removed=false.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.RemoveMemberResponse> removeMember(
        dev.cachecar.v1.RemoveMemberRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRemoveMemberMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * IncrementCounter atomically adds a delta to a counter and returns its new
     * value. With a window, the counter lives in a fixed window that starts at
     * its first increment, so a fixed-window rate limit is one call: increment,
     * then compare the returned value with the limit.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.IncrementCounterResponse> incrementCounter(
        dev.cachecar.v1.IncrementCounterRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getIncrementCounterMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetCounter reads a counter without changing it. A counter that does not
     * exist, or whose window has ended, reads as found=false with value 0.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetCounterResponse> getCounter(
        dev.cachecar.v1.GetCounterRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetCounterMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_ADD_SCORE = 0;
  private static final int METHODID_GET_TOP = 1;
  private static final int METHODID_GET_RANK = 2;
  private static final int METHODID_GET_AROUND = 3;
  private static final int METHODID_REMOVE_MEMBER = 4;
  private static final int METHODID_INCREMENT_COUNTER = 5;
  private static final int METHODID_GET_COUNTER = 6;

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
        case METHODID_ADD_SCORE:
          serviceImpl.addScore((dev.cachecar.v1.AddScoreRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.AddScoreResponse>) responseObserver);
          break;
        case METHODID_GET_TOP:
          serviceImpl.getTop((dev.cachecar.v1.GetTopRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetTopResponse>) responseObserver);
          break;
        case METHODID_GET_RANK:
          serviceImpl.getRank((dev.cachecar.v1.GetRankRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetRankResponse>) responseObserver);
          break;
        case METHODID_GET_AROUND:
          serviceImpl.getAround((dev.cachecar.v1.GetAroundRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetAroundResponse>) responseObserver);
          break;
        case METHODID_REMOVE_MEMBER:
          serviceImpl.removeMember((dev.cachecar.v1.RemoveMemberRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.RemoveMemberResponse>) responseObserver);
          break;
        case METHODID_INCREMENT_COUNTER:
          serviceImpl.incrementCounter((dev.cachecar.v1.IncrementCounterRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.IncrementCounterResponse>) responseObserver);
          break;
        case METHODID_GET_COUNTER:
          serviceImpl.getCounter((dev.cachecar.v1.GetCounterRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetCounterResponse>) responseObserver);
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
          getAddScoreMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.AddScoreRequest,
              dev.cachecar.v1.AddScoreResponse>(
                service, METHODID_ADD_SCORE)))
        .addMethod(
          getGetTopMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetTopRequest,
              dev.cachecar.v1.GetTopResponse>(
                service, METHODID_GET_TOP)))
        .addMethod(
          getGetRankMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetRankRequest,
              dev.cachecar.v1.GetRankResponse>(
                service, METHODID_GET_RANK)))
        .addMethod(
          getGetAroundMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetAroundRequest,
              dev.cachecar.v1.GetAroundResponse>(
                service, METHODID_GET_AROUND)))
        .addMethod(
          getRemoveMemberMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.RemoveMemberRequest,
              dev.cachecar.v1.RemoveMemberResponse>(
                service, METHODID_REMOVE_MEMBER)))
        .addMethod(
          getIncrementCounterMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.IncrementCounterRequest,
              dev.cachecar.v1.IncrementCounterResponse>(
                service, METHODID_INCREMENT_COUNTER)))
        .addMethod(
          getGetCounterMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetCounterRequest,
              dev.cachecar.v1.GetCounterResponse>(
                service, METHODID_GET_COUNTER)))
        .build();
  }

  private static abstract class LeaderboardServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    LeaderboardServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.cachecar.v1.LeaderboardProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("LeaderboardService");
    }
  }

  private static final class LeaderboardServiceFileDescriptorSupplier
      extends LeaderboardServiceBaseDescriptorSupplier {
    LeaderboardServiceFileDescriptorSupplier() {}
  }

  private static final class LeaderboardServiceMethodDescriptorSupplier
      extends LeaderboardServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    LeaderboardServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (LeaderboardServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new LeaderboardServiceFileDescriptorSupplier())
              .addMethod(getAddScoreMethod())
              .addMethod(getGetTopMethod())
              .addMethod(getGetRankMethod())
              .addMethod(getGetAroundMethod())
              .addMethod(getRemoveMemberMethod())
              .addMethod(getIncrementCounterMethod())
              .addMethod(getGetCounterMethod())
              .build();
        }
      }
    }
    return result;
  }
}
