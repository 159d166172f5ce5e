// Package telemetry wires a Go service to the LGTM stack: traces, metrics and logs over OTLP/HTTP to Alloy,
// one resource (service.name, service.namespace, deployment.environment) for all three.
//
// Everything comes from the standard OpenTelemetry environment variables, which the lgtm.stack migration sets
// in compose: OTEL_EXPORTER_OTLP_ENDPOINT (http://alloy:4318), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES.
// Nothing here hard-codes an endpoint or a service name.
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Setup installs the global tracer, meter and logger providers and the W3C propagators. The returned function
// flushes and stops them; call it on shutdown so the last spans, points and records are not lost.
func Setup(ctx context.Context) (func(context.Context) error, error) {
	var shutdowns []func(context.Context) error
	shutdown := func(ctx context.Context) error {
		var err error
		for i := len(shutdowns) - 1; i >= 0; i-- {
			err = errors.Join(err, shutdowns[i](ctx))
		}
		return err
	}

	// service.name from OTEL_SERVICE_NAME, the rest from OTEL_RESOURCE_ATTRIBUTES (GO009).
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil {
		return shutdown, err
	}

	// Traces (GO001, GO002, GO004): OTLP, batched.
	traceExporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return shutdown, err
	}
	tracerProvider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceExporter), sdktrace.WithResource(res))
	shutdowns = append(shutdowns, tracerProvider.Shutdown)
	otel.SetTracerProvider(tracerProvider)

	// Context propagation between services (GO010): without it every service starts its own trace.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	// Metrics (GO005): OTLP every 15 s. Measurements made with a context that holds a sampled span carry that
	// span as an exemplar (OTEL_METRICS_EXEMPLAR_FILTER=trace_based, the SDK's default).
	metricExporter, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return shutdown, err
	}
	meterProvider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter, sdkmetric.WithInterval(15*time.Second))),
		sdkmetric.WithResource(res),
	)
	shutdowns = append(shutdowns, meterProvider.Shutdown)
	otel.SetMeterProvider(meterProvider)

	// Logs (GO006, GO007): OTLP log records; Loki stores trace_id and span_id as structured metadata.
	logExporter, err := otlploghttp.New(ctx)
	if err != nil {
		return shutdown, err
	}
	loggerProvider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logExporter)),
		sdklog.WithResource(res))
	shutdowns = append(shutdowns, loggerProvider.Shutdown)
	global.SetLoggerProvider(loggerProvider)

	return shutdown, nil
}

// Logger returns a slog.Logger whose records go out over OTLP. Log with the request's context
// (logger.InfoContext(ctx, ...)) and the record carries the trace and span ids of the active span.
func Logger(name string) *slog.Logger {
	return otelslog.NewLogger(name)
}
