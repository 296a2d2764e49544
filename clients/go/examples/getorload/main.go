// Command getorload is the Go smoke example: it serves the app's
// LoaderService (generated stubs, clients/go/cachecar/v1) on
// CACHECAR_APP_ADDRESS and calls CacheService.GetOrLoad on the sidecar at
// CACHECAR_TARGET twice: a miss that cachecar loads from this process, then
// a hit. The sidecar's "products" namespace must name this loader.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"

	cachecarv1 "github.com/cachecar/cachecar/clients/go/cachecar/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

type loader struct {
	cachecarv1.UnimplementedLoaderServiceServer
	loads atomic.Int32
}

// Load is what cachecar calls on a miss; the context carries the caller's deadline.
func (l *loader) Load(ctx context.Context, req *cachecarv1.LoadRequest) (*cachecarv1.LoadResponse, error) {
	l.loads.Add(1)
	value := fmt.Sprintf(`{"id":%q,"name":"Oolong","from":"go"}`, req.GetKey())
	return &cachecarv1.LoadResponse{Found: true, Value: []byte(value)}, nil
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run() error {
	target := env("CACHECAR_TARGET", "127.0.0.1:50070")
	appAddress := env("CACHECAR_APP_ADDRESS", "127.0.0.1:50071")

	lis, err := net.Listen("tcp", appAddress)
	if err != nil {
		return err
	}
	app := &loader{}
	server := grpc.NewServer()
	cachecarv1.RegisterLoaderServiceServer(server, app)
	go func() { _ = server.Serve(lis) }()
	defer server.Stop()

	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	cache := cachecarv1.NewCacheServiceClient(conn)

	// Every call gets a deadline; cachecar passes what is left of it to the loader.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cache.Invalidate(ctx, &cachecarv1.InvalidateRequest{Namespace: "products", Keys: []string{"go-42"}}); err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		res, err := cache.GetOrLoad(ctx, &cachecarv1.GetOrLoadRequest{Namespace: "products", Key: "go-42"})
		if err != nil {
			// The ErrorInfo reason travels in status details (status.FromError(err).Details()).
			st, _ := status.FromError(err)
			return fmt.Errorf("GetOrLoad failed: %s: %s", st.Code(), st.Message())
		}
		fmt.Printf("GetOrLoad(products, go-42): found=%v source=%s value=%s\n", res.GetFound(), res.GetSource(), res.GetValue())
	}
	fmt.Printf("the Go loader was called %d time(s)\n", app.loads.Load())
	if app.loads.Load() != 1 {
		return errors.New("expected exactly one load: a miss, then a hit")
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}
