package dev.cachecar.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * PubSubService fans messages out from publishers to any number of
 * subscribers, over Redis. Channels live in a namespace, and cachecar's config
 * decides whether a channel is fire-and-forget or durable:
 * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
 *   subscriber receives only messages published while it is subscribed, and
 *   a message can be lost (a disconnect, a slow subscriber whose buffer
 *   overflows, a Redis failover). Subscribers may use glob patterns.
 * - Durable channels use Redis Streams and keep recent messages, up to the
 *   channel's configured retention. Delivery is at-least-once: every message
 *   has an id, and a subscriber that reconnects with the id of the last
 *   message it processed receives everything after it, so a message may be
 *   delivered more than once; make handling idempotent per message id.
 * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
 * NOT_SUPPORTED_BY_BACKEND.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PubSubServiceGrpc {

  private PubSubServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "cachecar.v1.PubSubService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.PublishRequest,
      dev.cachecar.v1.PublishResponse> getPublishMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Publish",
      requestType = dev.cachecar.v1.PublishRequest.class,
      responseType = dev.cachecar.v1.PublishResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.PublishRequest,
      dev.cachecar.v1.PublishResponse> getPublishMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.PublishRequest, dev.cachecar.v1.PublishResponse> getPublishMethod;
    if ((getPublishMethod = PubSubServiceGrpc.getPublishMethod) == null) {
      synchronized (PubSubServiceGrpc.class) {
        if ((getPublishMethod = PubSubServiceGrpc.getPublishMethod) == null) {
          PubSubServiceGrpc.getPublishMethod = getPublishMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.PublishRequest, dev.cachecar.v1.PublishResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Publish"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.PublishRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.PublishResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PubSubServiceMethodDescriptorSupplier("Publish"))
              .build();
        }
      }
    }
    return getPublishMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.SubscribeRequest,
      dev.cachecar.v1.SubscribeResponse> getSubscribeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Subscribe",
      requestType = dev.cachecar.v1.SubscribeRequest.class,
      responseType = dev.cachecar.v1.SubscribeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.SubscribeRequest,
      dev.cachecar.v1.SubscribeResponse> getSubscribeMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.SubscribeRequest, dev.cachecar.v1.SubscribeResponse> getSubscribeMethod;
    if ((getSubscribeMethod = PubSubServiceGrpc.getSubscribeMethod) == null) {
      synchronized (PubSubServiceGrpc.class) {
        if ((getSubscribeMethod = PubSubServiceGrpc.getSubscribeMethod) == null) {
          PubSubServiceGrpc.getSubscribeMethod = getSubscribeMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.SubscribeRequest, dev.cachecar.v1.SubscribeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Subscribe"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SubscribeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SubscribeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PubSubServiceMethodDescriptorSupplier("Subscribe"))
              .build();
        }
      }
    }
    return getSubscribeMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PubSubServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PubSubServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PubSubServiceStub>() {
        @java.lang.Override
        public PubSubServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PubSubServiceStub(channel, callOptions);
        }
      };
    return PubSubServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PubSubServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PubSubServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PubSubServiceBlockingV2Stub>() {
        @java.lang.Override
        public PubSubServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PubSubServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return PubSubServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PubSubServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PubSubServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PubSubServiceBlockingStub>() {
        @java.lang.Override
        public PubSubServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PubSubServiceBlockingStub(channel, callOptions);
        }
      };
    return PubSubServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PubSubServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PubSubServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PubSubServiceFutureStub>() {
        @java.lang.Override
        public PubSubServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PubSubServiceFutureStub(channel, callOptions);
        }
      };
    return PubSubServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Publish sends one message to a channel.
     * </pre>
     */
    default void publish(dev.cachecar.v1.PublishRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.PublishResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPublishMethod(), responseObserver);
    }

    /**
     * <pre>
     * Subscribe opens a stream of the messages of some channels. The first
     * event is always a SubscribedEvent, sent once every subscription is active
     * in Redis; a message published after the client has received it is
     * delivered. A subscriber too slow to keep up with fire-and-forget channels
     * has its oldest buffered messages dropped and counted in a MissedEvent,
     * or, if the namespace is configured to disconnect slow subscribers
     * instead, its stream ends with RESOURCE_EXHAUSTED and reason
     * SUBSCRIBER_TOO_SLOW. Durable channels never drop for slowness: a slow
     * subscriber falls behind and catches up from the stream. When the sidecar
     * shuts down, the stream ends with UNAVAILABLE; reconnect with resume_ids.
     * </pre>
     */
    default void subscribe(dev.cachecar.v1.SubscribeRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SubscribeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubscribeMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service PubSubService.
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static abstract class PubSubServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PubSubServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service PubSubService.
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class PubSubServiceStub
      extends io.grpc.stub.AbstractAsyncStub<PubSubServiceStub> {
    private PubSubServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PubSubServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PubSubServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Publish sends one message to a channel.
     * </pre>
     */
    public void publish(dev.cachecar.v1.PublishRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.PublishResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPublishMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Subscribe opens a stream of the messages of some channels. The first
     * event is always a SubscribedEvent, sent once every subscription is active
     * in Redis; a message published after the client has received it is
     * delivered. A subscriber too slow to keep up with fire-and-forget channels
     * has its oldest buffered messages dropped and counted in a MissedEvent,
     * or, if the namespace is configured to disconnect slow subscribers
     * instead, its stream ends with RESOURCE_EXHAUSTED and reason
     * SUBSCRIBER_TOO_SLOW. Durable channels never drop for slowness: a slow
     * subscriber falls behind and catches up from the stream. When the sidecar
     * shuts down, the stream ends with UNAVAILABLE; reconnect with resume_ids.
     * </pre>
     */
    public void subscribe(dev.cachecar.v1.SubscribeRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SubscribeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getSubscribeMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service PubSubService.
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class PubSubServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PubSubServiceBlockingV2Stub> {
    private PubSubServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PubSubServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PubSubServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Publish sends one message to a channel.
     * </pre>
     */
    public dev.cachecar.v1.PublishResponse publish(dev.cachecar.v1.PublishRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getPublishMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Subscribe opens a stream of the messages of some channels. The first
     * event is always a SubscribedEvent, sent once every subscription is active
     * in Redis; a message published after the client has received it is
     * delivered. A subscriber too slow to keep up with fire-and-forget channels
     * has its oldest buffered messages dropped and counted in a MissedEvent,
     * or, if the namespace is configured to disconnect slow subscribers
     * instead, its stream ends with RESOURCE_EXHAUSTED and reason
     * SUBSCRIBER_TOO_SLOW. Durable channels never drop for slowness: a slow
     * subscriber falls behind and catches up from the stream. When the sidecar
     * shuts down, the stream ends with UNAVAILABLE; reconnect with resume_ids.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, dev.cachecar.v1.SubscribeResponse>
        subscribe(dev.cachecar.v1.SubscribeRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getSubscribeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service PubSubService.
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class PubSubServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PubSubServiceBlockingStub> {
    private PubSubServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PubSubServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PubSubServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Publish sends one message to a channel.
     * </pre>
     */
    public dev.cachecar.v1.PublishResponse publish(dev.cachecar.v1.PublishRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPublishMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Subscribe opens a stream of the messages of some channels. The first
     * event is always a SubscribedEvent, sent once every subscription is active
     * in Redis; a message published after the client has received it is
     * delivered. A subscriber too slow to keep up with fire-and-forget channels
     * has its oldest buffered messages dropped and counted in a MissedEvent,
     * or, if the namespace is configured to disconnect slow subscribers
     * instead, its stream ends with RESOURCE_EXHAUSTED and reason
     * SUBSCRIBER_TOO_SLOW. Durable channels never drop for slowness: a slow
     * subscriber falls behind and catches up from the stream. When the sidecar
     * shuts down, the stream ends with UNAVAILABLE; reconnect with resume_ids.
     * </pre>
     */
    public java.util.Iterator<dev.cachecar.v1.SubscribeResponse> subscribe(
        dev.cachecar.v1.SubscribeRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getSubscribeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service PubSubService.
   * <pre>
   * PubSubService fans messages out from publishers to any number of
   * subscribers, over Redis. Channels live in a namespace, and cachecar's config
   * decides whether a channel is fire-and-forget or durable:
   * - Fire-and-forget channels use Redis Pub/Sub. Delivery is at-most-once: a
   *   subscriber receives only messages published while it is subscribed, and
   *   a message can be lost (a disconnect, a slow subscriber whose buffer
   *   overflows, a Redis failover). Subscribers may use glob patterns.
   * - Durable channels use Redis Streams and keep recent messages, up to the
   *   channel's configured retention. Delivery is at-least-once: every message
   *   has an id, and a subscriber that reconnects with the id of the last
   *   message it processed receives everything after it, so a message may be
   *   delivered more than once; make handling idempotent per message id.
   * Redis only: a Memcached namespace answers FAILED_PRECONDITION with reason
   * NOT_SUPPORTED_BY_BACKEND.
   * </pre>
   */
  public static final class PubSubServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<PubSubServiceFutureStub> {
    private PubSubServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PubSubServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PubSubServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Publish sends one message to a channel.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.PublishResponse> publish(
        dev.cachecar.v1.PublishRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPublishMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_PUBLISH = 0;
  private static final int METHODID_SUBSCRIBE = 1;

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
        case METHODID_PUBLISH:
          serviceImpl.publish((dev.cachecar.v1.PublishRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.PublishResponse>) responseObserver);
          break;
        case METHODID_SUBSCRIBE:
          serviceImpl.subscribe((dev.cachecar.v1.SubscribeRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.SubscribeResponse>) responseObserver);
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
          getPublishMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.PublishRequest,
              dev.cachecar.v1.PublishResponse>(
                service, METHODID_PUBLISH)))
        .addMethod(
          getSubscribeMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              dev.cachecar.v1.SubscribeRequest,
              dev.cachecar.v1.SubscribeResponse>(
                service, METHODID_SUBSCRIBE)))
        .build();
  }

  private static abstract class PubSubServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PubSubServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.cachecar.v1.PubsubProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("PubSubService");
    }
  }

  private static final class PubSubServiceFileDescriptorSupplier
      extends PubSubServiceBaseDescriptorSupplier {
    PubSubServiceFileDescriptorSupplier() {}
  }

  private static final class PubSubServiceMethodDescriptorSupplier
      extends PubSubServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PubSubServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (PubSubServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PubSubServiceFileDescriptorSupplier())
              .addMethod(getPublishMethod())
              .addMethod(getSubscribeMethod())
              .build();
        }
      }
    }
    return result;
  }
}
