// Command shop-api is the skeleton of a Go API instrumented for the LGTM stack: an HTTP server and a gRPC
// server with OpenTelemetry middleware, MySQL and Redis clients that emit spans and metrics, a latency
// histogram with exemplars and logs correlated with traces.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/XSAM/otelsql"
	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"example.com/shop-api/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx)
	if err != nil {
		slog.Error("telemetry setup failed", "error", err)
		os.Exit(1)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(flushCtx)
	}()
	logger := telemetry.Logger("shop-api")

	// MySQL: every query is a client span (db.system=mysql) under the request's span.
	db, err := otelsql.Open("mysql", os.Getenv("MYSQL_DSN"),
		otelsql.WithAttributes(attribute.String("db.system", "mysql")))
	if err != nil {
		logger.Error("mysql open failed", "error", err)
		os.Exit(1)
	}
	defer db.Close()

	// Redis: spans per command and the client's pool metrics.
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	if err := errors.Join(redisotel.InstrumentTracing(rdb), redisotel.InstrumentMetrics(rdb)); err != nil {
		logger.Error("redis instrumentation failed", "error", err)
	}

	// A histogram recorded with the request's context: Mimir keeps the span as an exemplar.
	meter := otel.Meter("example.com/shop-api")
	latency, err := meter.Float64Histogram("shop.checkout.duration", metric.WithUnit("s"),
		metric.WithDescription("Time spent in checkout"))
	if err != nil {
		logger.Error("histogram failed", "error", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context() // holds the server span otelhttp started: pass it on, everywhere
		start := time.Now()
		var count int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM products").Scan(&count); err != nil {
			logger.ErrorContext(ctx, "query failed", "error", err) // carries trace_id and span_id
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_ = rdb.Incr(ctx, "products:views").Err()
		latency.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("route", "/products")))
		logger.InfoContext(ctx, "products listed", "count", count)
		_, _ = w.Write([]byte("ok\n"))
	})

	// HTTP: otelhttp starts a server span per request and records http.server.request.duration.
	server := &http.Server{Addr: ":8080", Handler: otelhttp.NewHandler(mux, "http.server"),
		ReadHeaderTimeout: 5 * time.Second}
	// gRPC: the stats handler does the same for every RPC (clients use otelgrpc.NewClientHandler()).
	grpcServer := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler()))

	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
		}
	}()
	go func() {
		listener, err := net.Listen("tcp", ":9090")
		if err != nil {
			logger.Error("grpc listen failed", "error", err)
			return
		}
		_ = grpcServer.Serve(listener)
	}()

	<-ctx.Done()
	grpcServer.GracefulStop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(shutdownCtx)
}
