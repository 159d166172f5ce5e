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
	"io"
	"log/slog"

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
	"go.opentelemetry.io/otel/trace"
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

	// Metrics (GO005): OTLP every OTEL_METRIC_EXPORT_INTERVAL milliseconds (the SDK's default is 60000).
	// Measurements made with a context that holds a sampled span carry that span as an exemplar
	// (OTEL_METRICS_EXEMPLAR_FILTER=trace_based, the SDK's default).
	metricExporter, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return shutdown, err
	}
	meterProvider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter)),
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

// Logger returns a slog.Logger whose records go out over OTLP (the otelslog bridge) and, as JSON lines with
// trace_id and span_id, to w (os.Stdout: what `docker logs` shows and Alloy's docker-log pipeline reads; nil
// for OTLP only). Log with the request's context (logger.InfoContext(ctx, ...)) and the record carries the
// trace and span ids of the active span.
func Logger(name string, w io.Writer) *slog.Logger {
	bridge := otelslog.NewLogger(name).Handler()
	if w == nil {
		return slog.New(bridge)
	}
	return slog.New(fanout{bridge, traceIDs{slog.NewJSONHandler(w, nil)}})
}

// traceIDs adds trace_id and span_id (the field names Alloy lifts into Loki's structured metadata) to a record
// logged with a context that holds a span.
type traceIDs struct{ slog.Handler }

func (h traceIDs) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceIDs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceIDs{h.Handler.WithAttrs(attrs)}
}
func (h traceIDs) WithGroup(name string) slog.Handler { return traceIDs{h.Handler.WithGroup(name)} }

// fanout sends every record to each handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, level slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, level) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var err error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			err = errors.Join(err, h.Handle(ctx, r.Clone()))
		}
	}
	return err
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
