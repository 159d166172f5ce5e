// Command shop-api is the example service of the legacy stack: HTTP API over
// MySQL and Redis, traces to Jaeger through the deprecated Jaeger exporter,
// Prometheus metrics on /metrics, and logrus JSON logs without trace ids.
package main

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"time"

	"github.com/go-redis/redis/v8"
	_ "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	log "github.com/sirupsen/logrus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/jaeger"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.21.0"
)

func initTracer() (func(context.Context) error, error) {
	exp, err := jaeger.New(jaeger.WithAgentEndpoint(
		jaeger.WithAgentHost(getenv("JAEGER_AGENT_HOST", "jaeger")),
		jaeger.WithAgentPort(getenv("JAEGER_AGENT_PORT", "6831")),
	))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewWithAttributes(
			semconv.SchemaURL,
			semconv.ServiceName("shop-api"),
		)),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func main() {
	log.SetFormatter(&log.JSONFormatter{})
	shutdown, err := initTracer()
	if err != nil {
		log.WithError(err).Fatal("tracer")
	}
	defer func() { _ = shutdown(context.Background()) }()

	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.WithError(err).Fatal("mysql")
	}
	rdb := redis.NewClient(&redis.Options{Addr: getenv("REDIS_ADDR", "redis:6379")})

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.Handle("/products", otelhttp.NewHandler(productsHandler(db, rdb), "GET /products"))
	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening on :8080")
	log.Fatal(srv.ListenAndServe())
}
