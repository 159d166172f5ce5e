// Command shop-api is the skeleton of a Go API instrumented for the LGTM stack: an HTTP server and a gRPC
// server with OpenTelemetry middleware, a MySQL client whose queries are client spans, an instrumented HTTP
// client, a latency histogram with exemplars and logs correlated with traces.
//
// It builds offline against the OpenTelemetry Go SDK that Debian packages (tests/go builds and runs it).
package main

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"example.com/shop-api/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	shutdown, err := telemetry.Setup(ctx)
	logger := telemetry.Logger("example.com/shop-api", os.Stdout)
	if err != nil {
		logger.Error("telemetry setup failed", "error", err)
		os.Exit(1)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(flushCtx) // the last spans, points and records
	}()

	tracer := otel.Tracer("example.com/shop-api")
	meter := otel.Meter("example.com/shop-api")
	// A histogram recorded with the request's context: Mimir keeps the span as an exemplar.
	latency, err := meter.Float64Histogram("shop.products.duration", metric.WithUnit("s"),
		metric.WithDescription("Time spent listing products"))
	if err != nil {
		logger.Error("histogram failed", "error", err)
	}

	// MySQL (optional here): every query is a client span under the request's span.
	var db *sql.DB
	if dsn := os.Getenv("MYSQL_DSN"); dsn != "" {
		if db, err = sql.Open("mysql", dsn); err != nil {
			logger.Error("mysql open failed", "error", err)
			os.Exit(1)
		}
		defer db.Close()
	}

	// Outgoing HTTP: otelhttp.NewTransport injects traceparent and records a client span (service graph edges).
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 5 * time.Second}

	mux := http.NewServeMux()
	// A plain path pattern: "GET /products" needs Go 1.22 mux semantics, which a GOPATH build does not have.
	mux.HandleFunc("/products", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context() // holds the server span otelhttp started: pass it on, everywhere
		start := time.Now()
		count, err := countProducts(ctx, tracer, db)
		if err != nil {
			logger.ErrorContext(ctx, "query failed", "error", err) // carries trace_id and span_id
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if url := os.Getenv("PRICES_URL"); url != "" {
			if err := fetch(ctx, client, url); err != nil {
				logger.WarnContext(ctx, "prices unavailable", "error", err)
			}
		}
		latency.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("route", "/products")))
		logger.InfoContext(ctx, "products listed", "count", count)
		_, _ = w.Write([]byte("ok\n"))
	})

	// HTTP: otelhttp starts a server span per request (continuing an incoming traceparent) and records the
	// request duration.
	server := &http.Server{Addr: envOr("HTTP_ADDR", ":8080"), Handler: otelhttp.NewHandler(mux, "http.server"),
		ReadHeaderTimeout: 5 * time.Second}
	// gRPC: the stats handler does the same for every RPC (clients use otelgrpc.NewClientHandler()).
	grpcServer := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler()))

	go func() {
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
			stop()
		}
	}()
	go func() {
		listener, err := net.Listen("tcp", envOr("GRPC_ADDR", ":9090"))
		if err != nil {
			logger.Error("grpc listen failed", "error", err)
			return
		}
		_ = grpcServer.Serve(listener)
	}()
	logger.Info("listening", "http", server.Addr)

	<-ctx.Done()
	grpcServer.GracefulStop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(shutdownCtx)
}

// countProducts runs the query in a client span (what an SQL instrumentation library would record: Debian
// packages none, so the span is written here).
func countProducts(ctx context.Context, tracer trace.Tracer, db *sql.DB) (int, error) {
	if db == nil {
		return 0, nil
	}
	const query = "SELECT COUNT(*) FROM products"
	ctx, span := tracer.Start(ctx, "SELECT products", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", "mysql"), attribute.String("db.query.text", query)))
	defer span.End()
	var count int
	if err := db.QueryRowContext(ctx, query).Scan(&count); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return 0, err
	}
	return count, nil
}

func fetch(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
