module example.com/shop-api

// The versions Debian trixie packages (golang-opentelemetry-otel-dev 1.31.0, golang-opentelemetry-contrib-dev
// 0.56.0, golang-google-grpc-dev 1.64.0, golang-github-go-sql-driver-mysql-dev 1.9.0, golang-go 1.24):
// tests/go builds this module offline against exactly those sources and checks these pins against them.
go 1.22

require (
	github.com/go-sql-driver/mysql v1.9.0
	go.opentelemetry.io/contrib/bridges/otelslog v0.6.0
	go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.56.0
	go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.56.0
	go.opentelemetry.io/otel v1.31.0
	go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp v0.7.0
	go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp v1.31.0
	go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.31.0
	go.opentelemetry.io/otel/log v0.7.0
	go.opentelemetry.io/otel/metric v1.31.0
	go.opentelemetry.io/otel/sdk v1.31.0
	go.opentelemetry.io/otel/sdk/log v0.7.0
	go.opentelemetry.io/otel/sdk/metric v1.31.0
	go.opentelemetry.io/otel/trace v1.31.0
	google.golang.org/grpc v1.64.0
)
