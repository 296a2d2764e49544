package examples;

import dev.cachecar.v1.CacheServiceGrpc;
import dev.cachecar.v1.GetOrLoadRequest;
import dev.cachecar.v1.GetOrLoadResponse;
import dev.cachecar.v1.InvalidateRequest;
import dev.cachecar.v1.LoadRequest;
import dev.cachecar.v1.LoadResponse;
import dev.cachecar.v1.LoaderServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java smoke example: serves the app's LoaderService (generated stubs,
 * dev.cachecar.v1) on CACHECAR_APP_ADDRESS and calls CacheService.GetOrLoad on the
 * sidecar at CACHECAR_TARGET twice: a miss that cachecar loads from this
 * process, then a hit. The sidecar's "products" namespace must name this loader.
 */
public final class GetOrLoad {
  private GetOrLoad() {}

  static final class App extends LoaderServiceGrpc.LoaderServiceImplBase {
    final AtomicInteger loads = new AtomicInteger();

    @Override
    public void load(LoadRequest request, StreamObserver<LoadResponse> response) {
      loads.incrementAndGet();
      String value = "{\"id\":\"" + request.getKey() + "\",\"name\":\"Sencha\",\"from\":\"java\"}";
      response.onNext(
          LoadResponse.newBuilder().setFound(true).setValue(ByteString.copyFromUtf8(value)).build());
      response.onCompleted();
    }
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  public static void main(String[] args) throws Exception {
    String target = env("CACHECAR_TARGET", "127.0.0.1:50070");
    String[] app = env("CACHECAR_APP_ADDRESS", "127.0.0.1:50071").split(":");
    App loader = new App();
    Server server =
        Grpc.newServerBuilderForPort(Integer.parseInt(app[1]), InsecureServerCredentials.create())
            .addService(loader)
            .build()
            .start();
    ManagedChannel channel =
        Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    try {
      // Every call gets a deadline; cachecar passes what is left of it to the loader.
      CacheServiceGrpc.CacheServiceBlockingStub cache =
          CacheServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
      cache.invalidate(
          InvalidateRequest.newBuilder().setNamespace("products").addKeys("java-42").build());
      for (int i = 0; i < 2; i++) {
        GetOrLoadResponse res =
            cache.getOrLoad(
                GetOrLoadRequest.newBuilder().setNamespace("products").setKey("java-42").build());
        System.out.printf(
            "GetOrLoad(products, java-42): found=%s source=%s value=%s%n",
            res.getFound(), res.getSource(), res.getValue().toString(StandardCharsets.UTF_8));
      }
      System.out.printf("the Java loader was called %d time(s)%n", loader.loads.get());
      if (loader.loads.get() != 1) {
        throw new IllegalStateException("expected exactly one load: a miss, then a hit");
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
