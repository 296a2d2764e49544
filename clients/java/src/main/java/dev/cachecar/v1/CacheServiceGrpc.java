package dev.cachecar.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * CacheService is the caching API the application calls: cache-aside
 * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
 * Every key lives in a namespace declared in cachecar's config; the namespace
 * decides the backend, TTLs, size limits and the loader/writer targets.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class CacheServiceGrpc {

  private CacheServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "cachecar.v1.CacheService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadRequest,
      dev.cachecar.v1.GetOrLoadResponse> getGetOrLoadMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetOrLoad",
      requestType = dev.cachecar.v1.GetOrLoadRequest.class,
      responseType = dev.cachecar.v1.GetOrLoadResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadRequest,
      dev.cachecar.v1.GetOrLoadResponse> getGetOrLoadMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadRequest, dev.cachecar.v1.GetOrLoadResponse> getGetOrLoadMethod;
    if ((getGetOrLoadMethod = CacheServiceGrpc.getGetOrLoadMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getGetOrLoadMethod = CacheServiceGrpc.getGetOrLoadMethod) == null) {
          CacheServiceGrpc.getGetOrLoadMethod = getGetOrLoadMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetOrLoadRequest, dev.cachecar.v1.GetOrLoadResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetOrLoad"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetOrLoadRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetOrLoadResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("GetOrLoad"))
              .build();
        }
      }
    }
    return getGetOrLoadMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadManyRequest,
      dev.cachecar.v1.GetOrLoadManyResponse> getGetOrLoadManyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetOrLoadMany",
      requestType = dev.cachecar.v1.GetOrLoadManyRequest.class,
      responseType = dev.cachecar.v1.GetOrLoadManyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadManyRequest,
      dev.cachecar.v1.GetOrLoadManyResponse> getGetOrLoadManyMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetOrLoadManyRequest, dev.cachecar.v1.GetOrLoadManyResponse> getGetOrLoadManyMethod;
    if ((getGetOrLoadManyMethod = CacheServiceGrpc.getGetOrLoadManyMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getGetOrLoadManyMethod = CacheServiceGrpc.getGetOrLoadManyMethod) == null) {
          CacheServiceGrpc.getGetOrLoadManyMethod = getGetOrLoadManyMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetOrLoadManyRequest, dev.cachecar.v1.GetOrLoadManyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetOrLoadMany"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetOrLoadManyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetOrLoadManyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("GetOrLoadMany"))
              .build();
        }
      }
    }
    return getGetOrLoadManyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetRequest,
      dev.cachecar.v1.GetResponse> getGetMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Get",
      requestType = dev.cachecar.v1.GetRequest.class,
      responseType = dev.cachecar.v1.GetResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetRequest,
      dev.cachecar.v1.GetResponse> getGetMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetRequest, dev.cachecar.v1.GetResponse> getGetMethod;
    if ((getGetMethod = CacheServiceGrpc.getGetMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getGetMethod = CacheServiceGrpc.getGetMethod) == null) {
          CacheServiceGrpc.getGetMethod = getGetMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetRequest, dev.cachecar.v1.GetResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Get"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("Get"))
              .build();
        }
      }
    }
    return getGetMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.SetRequest,
      dev.cachecar.v1.SetResponse> getSetMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Set",
      requestType = dev.cachecar.v1.SetRequest.class,
      responseType = dev.cachecar.v1.SetResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.SetRequest,
      dev.cachecar.v1.SetResponse> getSetMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.SetRequest, dev.cachecar.v1.SetResponse> getSetMethod;
    if ((getSetMethod = CacheServiceGrpc.getSetMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getSetMethod = CacheServiceGrpc.getSetMethod) == null) {
          CacheServiceGrpc.getSetMethod = getSetMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.SetRequest, dev.cachecar.v1.SetResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Set"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SetRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SetResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("Set"))
              .build();
        }
      }
    }
    return getSetMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateRequest,
      dev.cachecar.v1.InvalidateResponse> getInvalidateMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Invalidate",
      requestType = dev.cachecar.v1.InvalidateRequest.class,
      responseType = dev.cachecar.v1.InvalidateResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateRequest,
      dev.cachecar.v1.InvalidateResponse> getInvalidateMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateRequest, dev.cachecar.v1.InvalidateResponse> getInvalidateMethod;
    if ((getInvalidateMethod = CacheServiceGrpc.getInvalidateMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getInvalidateMethod = CacheServiceGrpc.getInvalidateMethod) == null) {
          CacheServiceGrpc.getInvalidateMethod = getInvalidateMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.InvalidateRequest, dev.cachecar.v1.InvalidateResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Invalidate"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.InvalidateRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.InvalidateResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("Invalidate"))
              .build();
        }
      }
    }
    return getInvalidateMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.WriteThroughRequest,
      dev.cachecar.v1.WriteThroughResponse> getWriteThroughMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WriteThrough",
      requestType = dev.cachecar.v1.WriteThroughRequest.class,
      responseType = dev.cachecar.v1.WriteThroughResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.WriteThroughRequest,
      dev.cachecar.v1.WriteThroughResponse> getWriteThroughMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.WriteThroughRequest, dev.cachecar.v1.WriteThroughResponse> getWriteThroughMethod;
    if ((getWriteThroughMethod = CacheServiceGrpc.getWriteThroughMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getWriteThroughMethod = CacheServiceGrpc.getWriteThroughMethod) == null) {
          CacheServiceGrpc.getWriteThroughMethod = getWriteThroughMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.WriteThroughRequest, dev.cachecar.v1.WriteThroughResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WriteThrough"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteThroughRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.WriteThroughResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("WriteThrough"))
              .build();
        }
      }
    }
    return getWriteThroughMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.EnqueueWriteRequest,
      dev.cachecar.v1.EnqueueWriteResponse> getEnqueueWriteMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "EnqueueWrite",
      requestType = dev.cachecar.v1.EnqueueWriteRequest.class,
      responseType = dev.cachecar.v1.EnqueueWriteResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.EnqueueWriteRequest,
      dev.cachecar.v1.EnqueueWriteResponse> getEnqueueWriteMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.EnqueueWriteRequest, dev.cachecar.v1.EnqueueWriteResponse> getEnqueueWriteMethod;
    if ((getEnqueueWriteMethod = CacheServiceGrpc.getEnqueueWriteMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getEnqueueWriteMethod = CacheServiceGrpc.getEnqueueWriteMethod) == null) {
          CacheServiceGrpc.getEnqueueWriteMethod = getEnqueueWriteMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.EnqueueWriteRequest, dev.cachecar.v1.EnqueueWriteResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "EnqueueWrite"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.EnqueueWriteRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.EnqueueWriteResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("EnqueueWrite"))
              .build();
        }
      }
    }
    return getEnqueueWriteMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetWriteQueueRequest,
      dev.cachecar.v1.GetWriteQueueResponse> getGetWriteQueueMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetWriteQueue",
      requestType = dev.cachecar.v1.GetWriteQueueRequest.class,
      responseType = dev.cachecar.v1.GetWriteQueueResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetWriteQueueRequest,
      dev.cachecar.v1.GetWriteQueueResponse> getGetWriteQueueMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetWriteQueueRequest, dev.cachecar.v1.GetWriteQueueResponse> getGetWriteQueueMethod;
    if ((getGetWriteQueueMethod = CacheServiceGrpc.getGetWriteQueueMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getGetWriteQueueMethod = CacheServiceGrpc.getGetWriteQueueMethod) == null) {
          CacheServiceGrpc.getGetWriteQueueMethod = getGetWriteQueueMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetWriteQueueRequest, dev.cachecar.v1.GetWriteQueueResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetWriteQueue"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetWriteQueueRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetWriteQueueResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("GetWriteQueue"))
              .build();
        }
      }
    }
    return getGetWriteQueueMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.FlushWritesRequest,
      dev.cachecar.v1.FlushWritesResponse> getFlushWritesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "FlushWrites",
      requestType = dev.cachecar.v1.FlushWritesRequest.class,
      responseType = dev.cachecar.v1.FlushWritesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.FlushWritesRequest,
      dev.cachecar.v1.FlushWritesResponse> getFlushWritesMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.FlushWritesRequest, dev.cachecar.v1.FlushWritesResponse> getFlushWritesMethod;
    if ((getFlushWritesMethod = CacheServiceGrpc.getFlushWritesMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getFlushWritesMethod = CacheServiceGrpc.getFlushWritesMethod) == null) {
          CacheServiceGrpc.getFlushWritesMethod = getFlushWritesMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.FlushWritesRequest, dev.cachecar.v1.FlushWritesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "FlushWrites"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.FlushWritesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.FlushWritesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("FlushWrites"))
              .build();
        }
      }
    }
    return getFlushWritesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.ReplayDeadLettersRequest,
      dev.cachecar.v1.ReplayDeadLettersResponse> getReplayDeadLettersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReplayDeadLetters",
      requestType = dev.cachecar.v1.ReplayDeadLettersRequest.class,
      responseType = dev.cachecar.v1.ReplayDeadLettersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.ReplayDeadLettersRequest,
      dev.cachecar.v1.ReplayDeadLettersResponse> getReplayDeadLettersMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.ReplayDeadLettersRequest, dev.cachecar.v1.ReplayDeadLettersResponse> getReplayDeadLettersMethod;
    if ((getReplayDeadLettersMethod = CacheServiceGrpc.getReplayDeadLettersMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getReplayDeadLettersMethod = CacheServiceGrpc.getReplayDeadLettersMethod) == null) {
          CacheServiceGrpc.getReplayDeadLettersMethod = getReplayDeadLettersMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.ReplayDeadLettersRequest, dev.cachecar.v1.ReplayDeadLettersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReplayDeadLetters"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.ReplayDeadLettersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.ReplayDeadLettersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("ReplayDeadLetters"))
              .build();
        }
      }
    }
    return getReplayDeadLettersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.GetManyRequest,
      dev.cachecar.v1.GetManyResponse> getGetManyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetMany",
      requestType = dev.cachecar.v1.GetManyRequest.class,
      responseType = dev.cachecar.v1.GetManyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.GetManyRequest,
      dev.cachecar.v1.GetManyResponse> getGetManyMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.GetManyRequest, dev.cachecar.v1.GetManyResponse> getGetManyMethod;
    if ((getGetManyMethod = CacheServiceGrpc.getGetManyMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getGetManyMethod = CacheServiceGrpc.getGetManyMethod) == null) {
          CacheServiceGrpc.getGetManyMethod = getGetManyMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.GetManyRequest, dev.cachecar.v1.GetManyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetMany"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetManyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.GetManyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("GetMany"))
              .build();
        }
      }
    }
    return getGetManyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.SetManyRequest,
      dev.cachecar.v1.SetManyResponse> getSetManyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SetMany",
      requestType = dev.cachecar.v1.SetManyRequest.class,
      responseType = dev.cachecar.v1.SetManyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.SetManyRequest,
      dev.cachecar.v1.SetManyResponse> getSetManyMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.SetManyRequest, dev.cachecar.v1.SetManyResponse> getSetManyMethod;
    if ((getSetManyMethod = CacheServiceGrpc.getSetManyMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getSetManyMethod = CacheServiceGrpc.getSetManyMethod) == null) {
          CacheServiceGrpc.getSetManyMethod = getSetManyMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.SetManyRequest, dev.cachecar.v1.SetManyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SetMany"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SetManyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.SetManyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("SetMany"))
              .build();
        }
      }
    }
    return getSetManyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.TouchRequest,
      dev.cachecar.v1.TouchResponse> getTouchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Touch",
      requestType = dev.cachecar.v1.TouchRequest.class,
      responseType = dev.cachecar.v1.TouchResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.TouchRequest,
      dev.cachecar.v1.TouchResponse> getTouchMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.TouchRequest, dev.cachecar.v1.TouchResponse> getTouchMethod;
    if ((getTouchMethod = CacheServiceGrpc.getTouchMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getTouchMethod = CacheServiceGrpc.getTouchMethod) == null) {
          CacheServiceGrpc.getTouchMethod = getTouchMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.TouchRequest, dev.cachecar.v1.TouchResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Touch"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.TouchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.TouchResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("Touch"))
              .build();
        }
      }
    }
    return getTouchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateTagsRequest,
      dev.cachecar.v1.InvalidateTagsResponse> getInvalidateTagsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "InvalidateTags",
      requestType = dev.cachecar.v1.InvalidateTagsRequest.class,
      responseType = dev.cachecar.v1.InvalidateTagsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateTagsRequest,
      dev.cachecar.v1.InvalidateTagsResponse> getInvalidateTagsMethod() {
    io.grpc.MethodDescriptor<dev.cachecar.v1.InvalidateTagsRequest, dev.cachecar.v1.InvalidateTagsResponse> getInvalidateTagsMethod;
    if ((getInvalidateTagsMethod = CacheServiceGrpc.getInvalidateTagsMethod) == null) {
      synchronized (CacheServiceGrpc.class) {
        if ((getInvalidateTagsMethod = CacheServiceGrpc.getInvalidateTagsMethod) == null) {
          CacheServiceGrpc.getInvalidateTagsMethod = getInvalidateTagsMethod =
              io.grpc.MethodDescriptor.<dev.cachecar.v1.InvalidateTagsRequest, dev.cachecar.v1.InvalidateTagsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "InvalidateTags"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.InvalidateTagsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.cachecar.v1.InvalidateTagsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CacheServiceMethodDescriptorSupplier("InvalidateTags"))
              .build();
        }
      }
    }
    return getInvalidateTagsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CacheServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CacheServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CacheServiceStub>() {
        @java.lang.Override
        public CacheServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CacheServiceStub(channel, callOptions);
        }
      };
    return CacheServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static CacheServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CacheServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CacheServiceBlockingV2Stub>() {
        @java.lang.Override
        public CacheServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CacheServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return CacheServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CacheServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CacheServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CacheServiceBlockingStub>() {
        @java.lang.Override
        public CacheServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CacheServiceBlockingStub(channel, callOptions);
        }
      };
    return CacheServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CacheServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CacheServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CacheServiceFutureStub>() {
        @java.lang.Override
        public CacheServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CacheServiceFutureStub(channel, callOptions);
        }
      };
    return CacheServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * GetOrLoad returns the cached value of a key. On a miss it calls the
     * namespace's LoaderService.Load once per key (across all sidecars sharing
     * the backend), caches the result and returns it.
     * </pre>
     */
    default void getOrLoad(dev.cachecar.v1.GetOrLoadRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetOrLoadMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetOrLoadMany is GetOrLoad for many keys of one namespace: one result per
     * requested key, in request order, with one loader call per missing key.
     * </pre>
     */
    default void getOrLoadMany(dev.cachecar.v1.GetOrLoadManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadManyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetOrLoadManyMethod(), responseObserver);
    }

    /**
     * <pre>
     * Get returns the cached value of a key without ever calling the loader.
     * </pre>
     */
    default void get(dev.cachecar.v1.GetRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetMethod(), responseObserver);
    }

    /**
     * <pre>
     * Set stores a value in the cache (only the cache, not the application).
     * </pre>
     */
    default void set(dev.cachecar.v1.SetRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SetResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSetMethod(), responseObserver);
    }

    /**
     * <pre>
     * Invalidate removes keys from the cache. An Invalidate that lands while a
     * load of the same key is in flight wins: the loaded value is not stored.
     * </pre>
     */
    default void invalidate(dev.cachecar.v1.InvalidateRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getInvalidateMethod(), responseObserver);
    }

    /**
     * <pre>
     * WriteThrough calls the namespace's WriterService.Write and, only if it
     * succeeds, updates (or invalidates, per namespace policy) the cache.
     * </pre>
     */
    default void writeThrough(dev.cachecar.v1.WriteThroughRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteThroughResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWriteThroughMethod(), responseObserver);
    }

    /**
     * <pre>
     * EnqueueWrite updates the cache and appends the write to the namespace's
     * durable queue in one atomic step; the queue is flushed later, in
     * coalesced batches, to the namespace's WriterService.WriteBatch.
     * </pre>
     */
    default void enqueueWrite(dev.cachecar.v1.EnqueueWriteRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.EnqueueWriteResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getEnqueueWriteMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetWriteQueue reports the state of a namespace's write-behind queue.
     * </pre>
     */
    default void getWriteQueue(dev.cachecar.v1.GetWriteQueueRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetWriteQueueResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetWriteQueueMethod(), responseObserver);
    }

    /**
     * <pre>
     * FlushWrites flushes a namespace's write-behind queue now and waits until
     * it is drained or the call's deadline passes.
     * </pre>
     */
    default void flushWrites(dev.cachecar.v1.FlushWritesRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.FlushWritesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getFlushWritesMethod(), responseObserver);
    }

    /**
     * <pre>
     * ReplayDeadLetters moves dead-lettered writes back onto the queue so that
     * they are flushed again.
     * </pre>
     */
    default void replayDeadLetters(dev.cachecar.v1.ReplayDeadLettersRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.ReplayDeadLettersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReplayDeadLettersMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetMany is Get for many keys of one namespace (never calls the loader):
     * one result per requested key, in request order, one backend round trip
     * per Redis Cluster slot / Memcached server.
     * </pre>
     */
    default void getMany(dev.cachecar.v1.GetManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetManyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetManyMethod(), responseObserver);
    }

    /**
     * <pre>
     * SetMany is Set for many keys of one namespace, each with its own version,
     * condition and tags; one result per item (a refused item does not fail the
     * batch).
     * </pre>
     */
    default void setMany(dev.cachecar.v1.SetManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SetManyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSetManyMethod(), responseObserver);
    }

    /**
     * <pre>
     * Touch gives a cached value a new TTL without sending the value again.
     * </pre>
     */
    default void touch(dev.cachecar.v1.TouchRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getTouchMethod(), responseObserver);
    }

    /**
     * <pre>
     * InvalidateTags makes every value carrying any of the tags a miss, at the
     * cost of one counter increment per tag (not per value).
     * </pre>
     */
    default void invalidateTags(dev.cachecar.v1.InvalidateTagsRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateTagsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getInvalidateTagsMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service CacheService.
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public static abstract class CacheServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return CacheServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service CacheService.
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public static final class CacheServiceStub
      extends io.grpc.stub.AbstractAsyncStub<CacheServiceStub> {
    private CacheServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CacheServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CacheServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetOrLoad returns the cached value of a key. On a miss it calls the
     * namespace's LoaderService.Load once per key (across all sidecars sharing
     * the backend), caches the result and returns it.
     * </pre>
     */
    public void getOrLoad(dev.cachecar.v1.GetOrLoadRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetOrLoadMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetOrLoadMany is GetOrLoad for many keys of one namespace: one result per
     * requested key, in request order, with one loader call per missing key.
     * </pre>
     */
    public void getOrLoadMany(dev.cachecar.v1.GetOrLoadManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadManyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetOrLoadManyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Get returns the cached value of a key without ever calling the loader.
     * </pre>
     */
    public void get(dev.cachecar.v1.GetRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Set stores a value in the cache (only the cache, not the application).
     * </pre>
     */
    public void set(dev.cachecar.v1.SetRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SetResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSetMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Invalidate removes keys from the cache. An Invalidate that lands while a
     * load of the same key is in flight wins: the loaded value is not stored.
     * </pre>
     */
    public void invalidate(dev.cachecar.v1.InvalidateRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getInvalidateMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * WriteThrough calls the namespace's WriterService.Write and, only if it
     * succeeds, updates (or invalidates, per namespace policy) the cache.
     * </pre>
     */
    public void writeThrough(dev.cachecar.v1.WriteThroughRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteThroughResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWriteThroughMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * EnqueueWrite updates the cache and appends the write to the namespace's
     * durable queue in one atomic step; the queue is flushed later, in
     * coalesced batches, to the namespace's WriterService.WriteBatch.
     * </pre>
     */
    public void enqueueWrite(dev.cachecar.v1.EnqueueWriteRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.EnqueueWriteResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getEnqueueWriteMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetWriteQueue reports the state of a namespace's write-behind queue.
     * </pre>
     */
    public void getWriteQueue(dev.cachecar.v1.GetWriteQueueRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetWriteQueueResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetWriteQueueMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * FlushWrites flushes a namespace's write-behind queue now and waits until
     * it is drained or the call's deadline passes.
     * </pre>
     */
    public void flushWrites(dev.cachecar.v1.FlushWritesRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.FlushWritesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getFlushWritesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ReplayDeadLetters moves dead-lettered writes back onto the queue so that
     * they are flushed again.
     * </pre>
     */
    public void replayDeadLetters(dev.cachecar.v1.ReplayDeadLettersRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.ReplayDeadLettersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReplayDeadLettersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetMany is Get for many keys of one namespace (never calls the loader):
     * one result per requested key, in request order, one backend round trip
     * per Redis Cluster slot / Memcached server.
     * </pre>
     */
    public void getMany(dev.cachecar.v1.GetManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.GetManyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetManyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * SetMany is Set for many keys of one namespace, each with its own version,
     * condition and tags; one result per item (a refused item does not fail the
     * batch).
     * </pre>
     */
    public void setMany(dev.cachecar.v1.SetManyRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.SetManyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSetManyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Touch gives a cached value a new TTL without sending the value again.
     * </pre>
     */
    public void touch(dev.cachecar.v1.TouchRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getTouchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * InvalidateTags makes every value carrying any of the tags a miss, at the
     * cost of one counter increment per tag (not per value).
     * </pre>
     */
    public void invalidateTags(dev.cachecar.v1.InvalidateTagsRequest request,
        io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateTagsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getInvalidateTagsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service CacheService.
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public static final class CacheServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<CacheServiceBlockingV2Stub> {
    private CacheServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CacheServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CacheServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * GetOrLoad returns the cached value of a key. On a miss it calls the
     * namespace's LoaderService.Load once per key (across all sidecars sharing
     * the backend), caches the result and returns it.
     * </pre>
     */
    public dev.cachecar.v1.GetOrLoadResponse getOrLoad(dev.cachecar.v1.GetOrLoadRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetOrLoadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetOrLoadMany is GetOrLoad for many keys of one namespace: one result per
     * requested key, in request order, with one loader call per missing key.
     * </pre>
     */
    public dev.cachecar.v1.GetOrLoadManyResponse getOrLoadMany(dev.cachecar.v1.GetOrLoadManyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetOrLoadManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Get returns the cached value of a key without ever calling the loader.
     * </pre>
     */
    public dev.cachecar.v1.GetResponse get(dev.cachecar.v1.GetRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Set stores a value in the cache (only the cache, not the application).
     * </pre>
     */
    public dev.cachecar.v1.SetResponse set(dev.cachecar.v1.SetRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Invalidate removes keys from the cache. An Invalidate that lands while a
     * load of the same key is in flight wins: the loaded value is not stored.
     * </pre>
     */
    public dev.cachecar.v1.InvalidateResponse invalidate(dev.cachecar.v1.InvalidateRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getInvalidateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WriteThrough calls the namespace's WriterService.Write and, only if it
     * succeeds, updates (or invalidates, per namespace policy) the cache.
     * </pre>
     */
    public dev.cachecar.v1.WriteThroughResponse writeThrough(dev.cachecar.v1.WriteThroughRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getWriteThroughMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * EnqueueWrite updates the cache and appends the write to the namespace's
     * durable queue in one atomic step; the queue is flushed later, in
     * coalesced batches, to the namespace's WriterService.WriteBatch.
     * </pre>
     */
    public dev.cachecar.v1.EnqueueWriteResponse enqueueWrite(dev.cachecar.v1.EnqueueWriteRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getEnqueueWriteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetWriteQueue reports the state of a namespace's write-behind queue.
     * </pre>
     */
    public dev.cachecar.v1.GetWriteQueueResponse getWriteQueue(dev.cachecar.v1.GetWriteQueueRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetWriteQueueMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * FlushWrites flushes a namespace's write-behind queue now and waits until
     * it is drained or the call's deadline passes.
     * </pre>
     */
    public dev.cachecar.v1.FlushWritesResponse flushWrites(dev.cachecar.v1.FlushWritesRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getFlushWritesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ReplayDeadLetters moves dead-lettered writes back onto the queue so that
     * they are flushed again.
     * </pre>
     */
    public dev.cachecar.v1.ReplayDeadLettersResponse replayDeadLetters(dev.cachecar.v1.ReplayDeadLettersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getReplayDeadLettersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetMany is Get for many keys of one namespace (never calls the loader):
     * one result per requested key, in request order, one backend round trip
     * per Redis Cluster slot / Memcached server.
     * </pre>
     */
    public dev.cachecar.v1.GetManyResponse getMany(dev.cachecar.v1.GetManyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SetMany is Set for many keys of one namespace, each with its own version,
     * condition and tags; one result per item (a refused item does not fail the
     * batch).
     * </pre>
     */
    public dev.cachecar.v1.SetManyResponse setMany(dev.cachecar.v1.SetManyRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSetManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Touch gives a cached value a new TTL without sending the value again.
     * </pre>
     */
    public dev.cachecar.v1.TouchResponse touch(dev.cachecar.v1.TouchRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getTouchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * InvalidateTags makes every value carrying any of the tags a miss, at the
     * cost of one counter increment per tag (not per value).
     * </pre>
     */
    public dev.cachecar.v1.InvalidateTagsResponse invalidateTags(dev.cachecar.v1.InvalidateTagsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getInvalidateTagsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service CacheService.
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public static final class CacheServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<CacheServiceBlockingStub> {
    private CacheServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CacheServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CacheServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetOrLoad returns the cached value of a key. On a miss it calls the
     * namespace's LoaderService.Load once per key (across all sidecars sharing
     * the backend), caches the result and returns it.
     * </pre>
     */
    public dev.cachecar.v1.GetOrLoadResponse getOrLoad(dev.cachecar.v1.GetOrLoadRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetOrLoadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetOrLoadMany is GetOrLoad for many keys of one namespace: one result per
     * requested key, in request order, with one loader call per missing key.
     * </pre>
     */
    public dev.cachecar.v1.GetOrLoadManyResponse getOrLoadMany(dev.cachecar.v1.GetOrLoadManyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetOrLoadManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Get returns the cached value of a key without ever calling the loader.
     * </pre>
     */
    public dev.cachecar.v1.GetResponse get(dev.cachecar.v1.GetRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Set stores a value in the cache (only the cache, not the application).
     * </pre>
     */
    public dev.cachecar.v1.SetResponse set(dev.cachecar.v1.SetRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSetMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Invalidate removes keys from the cache. An Invalidate that lands while a
     * load of the same key is in flight wins: the loaded value is not stored.
     * </pre>
     */
    public dev.cachecar.v1.InvalidateResponse invalidate(dev.cachecar.v1.InvalidateRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getInvalidateMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WriteThrough calls the namespace's WriterService.Write and, only if it
     * succeeds, updates (or invalidates, per namespace policy) the cache.
     * </pre>
     */
    public dev.cachecar.v1.WriteThroughResponse writeThrough(dev.cachecar.v1.WriteThroughRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWriteThroughMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * EnqueueWrite updates the cache and appends the write to the namespace's
     * durable queue in one atomic step; the queue is flushed later, in
     * coalesced batches, to the namespace's WriterService.WriteBatch.
     * </pre>
     */
    public dev.cachecar.v1.EnqueueWriteResponse enqueueWrite(dev.cachecar.v1.EnqueueWriteRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getEnqueueWriteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetWriteQueue reports the state of a namespace's write-behind queue.
     * </pre>
     */
    public dev.cachecar.v1.GetWriteQueueResponse getWriteQueue(dev.cachecar.v1.GetWriteQueueRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetWriteQueueMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * FlushWrites flushes a namespace's write-behind queue now and waits until
     * it is drained or the call's deadline passes.
     * </pre>
     */
    public dev.cachecar.v1.FlushWritesResponse flushWrites(dev.cachecar.v1.FlushWritesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getFlushWritesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ReplayDeadLetters moves dead-lettered writes back onto the queue so that
     * they are flushed again.
     * </pre>
     */
    public dev.cachecar.v1.ReplayDeadLettersResponse replayDeadLetters(dev.cachecar.v1.ReplayDeadLettersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReplayDeadLettersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetMany is Get for many keys of one namespace (never calls the loader):
     * one result per requested key, in request order, one backend round trip
     * per Redis Cluster slot / Memcached server.
     * </pre>
     */
    public dev.cachecar.v1.GetManyResponse getMany(dev.cachecar.v1.GetManyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SetMany is Set for many keys of one namespace, each with its own version,
     * condition and tags; one result per item (a refused item does not fail the
     * batch).
     * </pre>
     */
    public dev.cachecar.v1.SetManyResponse setMany(dev.cachecar.v1.SetManyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSetManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Touch gives a cached value a new TTL without sending the value again.
     * </pre>
     */
    public dev.cachecar.v1.TouchResponse touch(dev.cachecar.v1.TouchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getTouchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * InvalidateTags makes every value carrying any of the tags a miss, at the
     * cost of one counter increment per tag (not per value).
     * </pre>
     */
    public dev.cachecar.v1.InvalidateTagsResponse invalidateTags(dev.cachecar.v1.InvalidateTagsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getInvalidateTagsMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service CacheService.
   * <pre>
   * CacheService is the caching API the application calls: cache-aside
   * (GetOrLoad), plain Get/Set/Invalidate, write-through and write-behind.
   * Every key lives in a namespace declared in cachecar's config; the namespace
   * decides the backend, TTLs, size limits and the loader/writer targets.
   * </pre>
   */
  public static final class CacheServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<CacheServiceFutureStub> {
    private CacheServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CacheServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CacheServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetOrLoad returns the cached value of a key. On a miss it calls the
     * namespace's LoaderService.Load once per key (across all sidecars sharing
     * the backend), caches the result and returns it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetOrLoadResponse> getOrLoad(
        dev.cachecar.v1.GetOrLoadRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetOrLoadMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetOrLoadMany is GetOrLoad for many keys of one namespace: one result per
     * requested key, in request order, with one loader call per missing key.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetOrLoadManyResponse> getOrLoadMany(
        dev.cachecar.v1.GetOrLoadManyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetOrLoadManyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Get returns the cached value of a key without ever calling the loader.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetResponse> get(
        dev.cachecar.v1.GetRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Set stores a value in the cache (only the cache, not the application).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.SetResponse> set(
        dev.cachecar.v1.SetRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSetMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Invalidate removes keys from the cache. An Invalidate that lands while a
     * load of the same key is in flight wins: the loaded value is not stored.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.InvalidateResponse> invalidate(
        dev.cachecar.v1.InvalidateRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getInvalidateMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * WriteThrough calls the namespace's WriterService.Write and, only if it
     * succeeds, updates (or invalidates, per namespace policy) the cache.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.WriteThroughResponse> writeThrough(
        dev.cachecar.v1.WriteThroughRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWriteThroughMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * EnqueueWrite updates the cache and appends the write to the namespace's
     * durable queue in one atomic step; the queue is flushed later, in
     * coalesced batches, to the namespace's WriterService.WriteBatch.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.EnqueueWriteResponse> enqueueWrite(
        dev.cachecar.v1.EnqueueWriteRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getEnqueueWriteMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetWriteQueue reports the state of a namespace's write-behind queue.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetWriteQueueResponse> getWriteQueue(
        dev.cachecar.v1.GetWriteQueueRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetWriteQueueMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * FlushWrites flushes a namespace's write-behind queue now and waits until
     * it is drained or the call's deadline passes.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.FlushWritesResponse> flushWrites(
        dev.cachecar.v1.FlushWritesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getFlushWritesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ReplayDeadLetters moves dead-lettered writes back onto the queue so that
     * they are flushed again.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.ReplayDeadLettersResponse> replayDeadLetters(
        dev.cachecar.v1.ReplayDeadLettersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReplayDeadLettersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetMany is Get for many keys of one namespace (never calls the loader):
     * one result per requested key, in request order, one backend round trip
     * per Redis Cluster slot / Memcached server.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.GetManyResponse> getMany(
        dev.cachecar.v1.GetManyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetManyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * SetMany is Set for many keys of one namespace, each with its own version,
     * condition and tags; one result per item (a refused item does not fail the
     * batch).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.SetManyResponse> setMany(
        dev.cachecar.v1.SetManyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSetManyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Touch gives a cached value a new TTL without sending the value again.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.TouchResponse> touch(
        dev.cachecar.v1.TouchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getTouchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * InvalidateTags makes every value carrying any of the tags a miss, at the
     * cost of one counter increment per tag (not per value).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.cachecar.v1.InvalidateTagsResponse> invalidateTags(
        dev.cachecar.v1.InvalidateTagsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getInvalidateTagsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_OR_LOAD = 0;
  private static final int METHODID_GET_OR_LOAD_MANY = 1;
  private static final int METHODID_GET = 2;
  private static final int METHODID_SET = 3;
  private static final int METHODID_INVALIDATE = 4;
  private static final int METHODID_WRITE_THROUGH = 5;
  private static final int METHODID_ENQUEUE_WRITE = 6;
  private static final int METHODID_GET_WRITE_QUEUE = 7;
  private static final int METHODID_FLUSH_WRITES = 8;
  private static final int METHODID_REPLAY_DEAD_LETTERS = 9;
  private static final int METHODID_GET_MANY = 10;
  private static final int METHODID_SET_MANY = 11;
  private static final int METHODID_TOUCH = 12;
  private static final int METHODID_INVALIDATE_TAGS = 13;

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
        case METHODID_GET_OR_LOAD:
          serviceImpl.getOrLoad((dev.cachecar.v1.GetOrLoadRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadResponse>) responseObserver);
          break;
        case METHODID_GET_OR_LOAD_MANY:
          serviceImpl.getOrLoadMany((dev.cachecar.v1.GetOrLoadManyRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetOrLoadManyResponse>) responseObserver);
          break;
        case METHODID_GET:
          serviceImpl.get((dev.cachecar.v1.GetRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetResponse>) responseObserver);
          break;
        case METHODID_SET:
          serviceImpl.set((dev.cachecar.v1.SetRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.SetResponse>) responseObserver);
          break;
        case METHODID_INVALIDATE:
          serviceImpl.invalidate((dev.cachecar.v1.InvalidateRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateResponse>) responseObserver);
          break;
        case METHODID_WRITE_THROUGH:
          serviceImpl.writeThrough((dev.cachecar.v1.WriteThroughRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.WriteThroughResponse>) responseObserver);
          break;
        case METHODID_ENQUEUE_WRITE:
          serviceImpl.enqueueWrite((dev.cachecar.v1.EnqueueWriteRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.EnqueueWriteResponse>) responseObserver);
          break;
        case METHODID_GET_WRITE_QUEUE:
          serviceImpl.getWriteQueue((dev.cachecar.v1.GetWriteQueueRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetWriteQueueResponse>) responseObserver);
          break;
        case METHODID_FLUSH_WRITES:
          serviceImpl.flushWrites((dev.cachecar.v1.FlushWritesRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.FlushWritesResponse>) responseObserver);
          break;
        case METHODID_REPLAY_DEAD_LETTERS:
          serviceImpl.replayDeadLetters((dev.cachecar.v1.ReplayDeadLettersRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.ReplayDeadLettersResponse>) responseObserver);
          break;
        case METHODID_GET_MANY:
          serviceImpl.getMany((dev.cachecar.v1.GetManyRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.GetManyResponse>) responseObserver);
          break;
        case METHODID_SET_MANY:
          serviceImpl.setMany((dev.cachecar.v1.SetManyRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.SetManyResponse>) responseObserver);
          break;
        case METHODID_TOUCH:
          serviceImpl.touch((dev.cachecar.v1.TouchRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.TouchResponse>) responseObserver);
          break;
        case METHODID_INVALIDATE_TAGS:
          serviceImpl.invalidateTags((dev.cachecar.v1.InvalidateTagsRequest) request,
              (io.grpc.stub.StreamObserver<dev.cachecar.v1.InvalidateTagsResponse>) responseObserver);
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
          getGetOrLoadMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetOrLoadRequest,
              dev.cachecar.v1.GetOrLoadResponse>(
                service, METHODID_GET_OR_LOAD)))
        .addMethod(
          getGetOrLoadManyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetOrLoadManyRequest,
              dev.cachecar.v1.GetOrLoadManyResponse>(
                service, METHODID_GET_OR_LOAD_MANY)))
        .addMethod(
          getGetMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetRequest,
              dev.cachecar.v1.GetResponse>(
                service, METHODID_GET)))
        .addMethod(
          getSetMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.SetRequest,
              dev.cachecar.v1.SetResponse>(
                service, METHODID_SET)))
        .addMethod(
          getInvalidateMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.InvalidateRequest,
              dev.cachecar.v1.InvalidateResponse>(
                service, METHODID_INVALIDATE)))
        .addMethod(
          getWriteThroughMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.WriteThroughRequest,
              dev.cachecar.v1.WriteThroughResponse>(
                service, METHODID_WRITE_THROUGH)))
        .addMethod(
          getEnqueueWriteMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.EnqueueWriteRequest,
              dev.cachecar.v1.EnqueueWriteResponse>(
                service, METHODID_ENQUEUE_WRITE)))
        .addMethod(
          getGetWriteQueueMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetWriteQueueRequest,
              dev.cachecar.v1.GetWriteQueueResponse>(
                service, METHODID_GET_WRITE_QUEUE)))
        .addMethod(
          getFlushWritesMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.FlushWritesRequest,
              dev.cachecar.v1.FlushWritesResponse>(
                service, METHODID_FLUSH_WRITES)))
        .addMethod(
          getReplayDeadLettersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.ReplayDeadLettersRequest,
              dev.cachecar.v1.ReplayDeadLettersResponse>(
                service, METHODID_REPLAY_DEAD_LETTERS)))
        .addMethod(
          getGetManyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.GetManyRequest,
              dev.cachecar.v1.GetManyResponse>(
                service, METHODID_GET_MANY)))
        .addMethod(
          getSetManyMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.SetManyRequest,
              dev.cachecar.v1.SetManyResponse>(
                service, METHODID_SET_MANY)))
        .addMethod(
          getTouchMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.TouchRequest,
              dev.cachecar.v1.TouchResponse>(
                service, METHODID_TOUCH)))
        .addMethod(
          getInvalidateTagsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.cachecar.v1.InvalidateTagsRequest,
              dev.cachecar.v1.InvalidateTagsResponse>(
                service, METHODID_INVALIDATE_TAGS)))
        .build();
  }

  private static abstract class CacheServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CacheServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.cachecar.v1.CacheProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CacheService");
    }
  }

  private static final class CacheServiceFileDescriptorSupplier
      extends CacheServiceBaseDescriptorSupplier {
    CacheServiceFileDescriptorSupplier() {}
  }

  private static final class CacheServiceMethodDescriptorSupplier
      extends CacheServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    CacheServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (CacheServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CacheServiceFileDescriptorSupplier())
              .addMethod(getGetOrLoadMethod())
              .addMethod(getGetOrLoadManyMethod())
              .addMethod(getGetMethod())
              .addMethod(getSetMethod())
              .addMethod(getInvalidateMethod())
              .addMethod(getWriteThroughMethod())
              .addMethod(getEnqueueWriteMethod())
              .addMethod(getGetWriteQueueMethod())
              .addMethod(getFlushWritesMethod())
              .addMethod(getReplayDeadLettersMethod())
              .addMethod(getGetManyMethod())
              .addMethod(getSetManyMethod())
              .addMethod(getTouchMethod())
              .addMethod(getInvalidateTagsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
