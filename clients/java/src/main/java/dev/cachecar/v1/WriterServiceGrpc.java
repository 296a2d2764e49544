package dev.cachecar.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * WriterService is implemented by the application, not by cachecar. cachecar
 * calls Write for write-through and WriteBatch to flush the write-behind queue.
 * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class WriterServiceGrpc {

  private WriterServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "cachecar.v1.WriterService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.WriteRequest,
      dev.cachecar.v1.WriteResponse> getWriteMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Write",
      requestType = dev.cachecar.v1.WriteRequest.class,
      responseType = dev.cachecar.v1.WriteResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.WriteRequest,
      dev.cachecar.v1.WriteResponse> getWriteMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.WriteRequest, dev.cachecar.v1.WriteResponse> getWriteMethod;
    if ((getWriteMethod = WriterServiceGrpc.getWriteMethod) == null) {
      synchronized (WriterServiceGrpc.class) {
        if ((getWriteMethod = WriterServiceGrpc.getWriteMethod) == null) {
          WriterServiceGrpc.getWriteMethod = getWriteMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.WriteRequest, dev.cachecar.v1.WriteResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Write"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WriterServiceMethodDescriptorSupplier("Write"))
              .build();
        }
      }
    }
    return getWriteMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.WriteBatchRequest,
      dev.cachecar.v1.WriteBatchResponse> getWriteBatchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WriteBatch",
      requestType = dev.cachecar.v1.WriteBatchRequest.class,
      responseType = dev.cachecar.v1.WriteBatchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.WriteBatchRequest,
      dev.cachecar.v1.WriteBatchResponse> getWriteBatchMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.WriteBatchRequest, dev.cachecar.v1.WriteBatchResponse> getWriteBatchMethod;
    if ((getWriteBatchMethod = WriterServiceGrpc.getWriteBatchMethod) == null) {
      synchronized (WriterServiceGrpc.class) {
        if ((getWriteBatchMethod = WriterServiceGrpc.getWriteBatchMethod) == null) {
          WriterServiceGrpc.getWriteBatchMethod = getWriteBatchMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.WriteBatchRequest, dev.cachecar.v1.WriteBatchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WriteBatch"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteBatchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteBatchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WriterServiceMethodDescriptorSupplier("WriteBatch"))
              .build();
        }
      }
    }
    return getWriteBatchMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static WriterServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WriterServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WriterServiceStub>() {
        @java.lang.Override
        public WriterServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WriterServiceStub(channel, callOptions);
        }
      };
    return WriterServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static WriterServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WriterServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WriterServiceBlockingV2Stub>() {
        @java.lang.Override
        public WriterServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WriterServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return WriterServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static WriterServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WriterServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WriterServiceBlockingStub>() {
        @java.lang.Override
        public WriterServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WriterServiceBlockingStub(channel, callOptions);
        }
      };
    return WriterServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static WriterServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WriterServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WriterServiceFutureStub>() {
        @java.lang.Override
        public WriterServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WriterServiceFutureStub(channel, callOptions);
        }
      };
    return WriterServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Write applies one write to the application's source of truth. cachecar
     * updates the cache only after it succeeds.
     * </pre>
     */
    default void write(dev.cachecar.v1.WriteRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWriteMethod(), responseObserver);
    }

    /**
     * <pre>
     * WriteBatch applies a batch of queued writes, coalesced per key (only the
     * last write of each key in the batch), in queue order. cachecar
     * acknowledges the batch only after this call succeeds; on failure the whole
     * batch is retried later, so applying it must be idempotent per write_id.
     * </pre>
     */
    default void writeBatch(dev.cachecar.v1.WriteBatchRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteBatchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWriteBatchMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service WriterService.
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public static abstract class WriterServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return WriterServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service WriterService.
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public static final class WriterServiceStub
      extends io.grpc.stub.AbstractAsyncStub<WriterServiceStub> {
    private WriterServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WriterServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WriterServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Write applies one write to the application's source of truth. cachecar
     * updates the cache only after it succeeds.
     * </pre>
     */
    public void write(dev.cachecar.v1.WriteRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWriteMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * WriteBatch applies a batch of queued writes, coalesced per key (only the
     * last write of each key in the batch), in queue order. cachecar
     * acknowledges the batch only after this call succeeds; on failure the whole
     * batch is retried later, so applying it must be idempotent per write_id.
     * </pre>
     */
    public void writeBatch(dev.cachecar.v1.WriteBatchRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteBatchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWriteBatchMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service WriterService.
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public static final class WriterServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<WriterServiceBlockingV2Stub> {
    private WriterServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WriterServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WriterServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Write applies one write to the application's source of truth. cachecar
     * updates the cache only after it succeeds.
     * </pre>
     */
    public dev.cachecar.v1.WriteResponse write(dev.cachecar.v1.WriteRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getWriteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WriteBatch applies a batch of queued writes, coalesced per key (only the
     * last write of each key in the batch), in queue order. cachecar
     * acknowledges the batch only after this call succeeds; on failure the whole
     * batch is retried later, so applying it must be idempotent per write_id.
     * </pre>
     */
    public dev.cachecar.v1.WriteBatchResponse writeBatch(dev.cachecar.v1.WriteBatchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getWriteBatchMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service WriterService.
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public static final class WriterServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<WriterServiceBlockingStub> {
    private WriterServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WriterServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WriterServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Write applies one write to the application's source of truth. cachecar
     * updates the cache only after it succeeds.
     * </pre>
     */
    public dev.cachecar.v1.WriteResponse write(dev.cachecar.v1.WriteRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWriteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WriteBatch applies a batch of queued writes, coalesced per key (only the
     * last write of each key in the batch), in queue order. cachecar
     * acknowledges the batch only after this call succeeds; on failure the whole
     * batch is retried later, so applying it must be idempotent per write_id.
     * </pre>
     */
    public dev.cachecar.v1.WriteBatchResponse writeBatch(dev.cachecar.v1.WriteBatchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWriteBatchMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service WriterService.
   * <pre>
   * WriterService is implemented by the application, not by cachecar. cachecar
   * calls Write for write-through and WriteBatch to flush the write-behind queue.
   * Delivery of queued writes is at-least-once: use write_id to drop duplicates.
   * </pre>
   */
  public static final class WriterServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<WriterServiceFutureStub> {
    private WriterServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WriterServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WriterServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Write applies one write to the application's source of truth. cachecar
     * updates the cache only after it succeeds.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.WriteResponse> write(
        dev.cachecar.v1.WriteRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWriteMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * WriteBatch applies a batch of queued writes, coalesced per key (only the
     * last write of each key in the batch), in queue order. cachecar
     * acknowledges the batch only after this call succeeds; on failure the whole
     * batch is retried later, so applying it must be idempotent per write_id.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.WriteBatchResponse> writeBatch(
        dev.cachecar.v1.WriteBatchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWriteBatchMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_WRITE = 0;
  private static final int METHODID_WRITE_BATCH = 1;

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
        case METHODID_WRITE:
          serviceImpl.write((dev.cachecar.v1.WriteRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteResponse>) responseObserver);
          break;
        case METHODID_WRITE_BATCH:
          serviceImpl.writeBatch((dev.cachecar.v1.WriteBatchRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteBatchResponse>) responseObserver);
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
          getWriteMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.WriteRequest,
              dev.cachecar.v1.WriteResponse>(
                service, METHODID_WRITE)))
        .addMethod(
          getWriteBatchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.WriteBatchRequest,
              dev.cachecar.v1.WriteBatchResponse>(
                service, METHODID_WRITE_BATCH)))
        .build();
  }

  private static abstract class WriterServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    WriterServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.cachecar.v1.WriterProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("WriterService");
    }
  }

  private static final class WriterServiceFileDescriptorSupplier
      extends WriterServiceBaseDescriptorSupplier {
    WriterServiceFileDescriptorSupplier() {}
  }

  private static final class WriterServiceMethodDescriptorSupplier
      extends WriterServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    WriterServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (WriterServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new WriterServiceFileDescriptorSupplier())
              .addMethod(getWriteMethod())
              .addMethod(getWriteBatchMethod())
              .build();
        }
      }
    }
    return result;
  }
}
