#!/usr/bin/env python3
"""Benchmark the analysis modules on synthetic legacy projects.

Generates projects with N application services (each with an exporter-style
scrape job and a Go module) and M Grafana dashboards, then times, in one run:
legacy_stack_info's analysis (through `docker compose config` when Compose is
installed, and with the raw fallback), go_telemetry_info's scan, and
migration_plan. Prints a Markdown table; `--json` prints the raw figures.

    python bench/analysis.py                 # sizes 20, 200, 2000
    python bench/analysis.py --sizes 200:300 # services:dashboards
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.lgtm.stack.plugins.module_utils import go_telemetry, legacy, plan  # noqa: E402

GO_MAIN = """package main

import (
\t"go.opentelemetry.io/otel"
\t"go.opentelemetry.io/otel/exporters/jaeger"
\tlog "github.com/sirupsen/logrus"
)

func main() {
\t_, _ = jaeger.New(jaeger.WithAgentEndpoint(jaeger.WithAgentHost("jaeger")))
\t_ = otel.Tracer("svc%d")
\tlog.Info("started")
}
"""


def make_project(root, services, dashboards):
    os.makedirs(os.path.join(root, "prometheus"))
    os.makedirs(os.path.join(root, "grafana", "provisioning", "datasources"))
    os.makedirs(os.path.join(root, "grafana", "provisioning", "dashboards"))
    os.makedirs(os.path.join(root, "grafana", "dashboards"))
    lines = ["services:"]
    jobs = ["global:", "  scrape_interval: 15s", "scrape_configs:"]
    for i in range(services):
        lines += ["  svc%d:" % i, "    build: ./svc%d" % i, "    environment:",
                  "      OTEL_EXPORTER_OTLP_ENDPOINT: http://jaeger:4318", "      OTEL_SERVICE_NAME: svc%d" % i,
                  "      DB_PASSWORD: secret%d" % i, "    ports:", '      - "%d:8080"' % (20000 + i),
                  "    depends_on: [jaeger]"]
        jobs += ["  - job_name: svc%d" % i, "    static_configs:", '      - targets: ["svc%d:8080"]' % i,
                 "    relabel_configs:", "      - target_label: team", "        replacement: t%d" % (i % 7)]
        svc_dir = os.path.join(root, "svc%d" % i)
        os.makedirs(svc_dir)
        with open(os.path.join(svc_dir, "go.mod"), "w") as handle:
            handle.write("module example.com/svc%d\n\ngo 1.21\n\nrequire (\n\tgo.opentelemetry.io/otel v1.17.0\n"
                         "\tgo.opentelemetry.io/otel/exporters/jaeger v1.17.0\n\tgithub.com/sirupsen/logrus v1.9.3\n)\n" % i)
        with open(os.path.join(svc_dir, "main.go"), "w") as handle:
            handle.write(GO_MAIN % i)
    lines += ["  jaeger:", "    image: jaegertracing/all-in-one:1.57.0",
              "  prometheus:", "    image: prom/prometheus:v2.51.2", "    volumes:",
              "      - ./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
              "  grafana:", "    image: grafana/grafana:10.4.2", "    volumes:",
              "      - ./grafana/provisioning:/etc/grafana/provisioning:ro",
              "      - ./grafana/dashboards:/var/lib/grafana/dashboards:ro"]
    with open(os.path.join(root, "compose.yaml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    with open(os.path.join(root, "prometheus", "prometheus.yml"), "w") as handle:
        handle.write("\n".join(jobs) + "\n")
    with open(os.path.join(root, "grafana", "provisioning", "datasources", "ds.yml"), "w") as handle:
        handle.write("apiVersion: 1\ndatasources:\n  - name: Prometheus\n    uid: prom\n    type: prometheus\n"
                     "    url: http://prometheus:9090\n  - name: Jaeger\n    uid: jaeger\n    type: jaeger\n"
                     "    url: http://jaeger:16686\n")
    with open(os.path.join(root, "grafana", "provisioning", "dashboards", "p.yml"), "w") as handle:
        handle.write("apiVersion: 1\nproviders:\n  - name: all\n    options:\n      path: /var/lib/grafana/dashboards\n")
    for d in range(dashboards):
        panels = [{"id": p, "type": "timeseries", "title": "p%d" % p, "datasource": {"type": "prometheus", "uid": "prom"},
                   "targets": [{"refId": "A", "expr": 'rate(http_requests_total{job="svc%d"}[5m])' % (p % max(services, 1))}]}
                  for p in range(12)]
        panels.append({"id": 99, "type": "table", "title": "traces", "datasource": {"type": "jaeger", "uid": "jaeger"},
                       "targets": [{"refId": "A", "queryType": "search", "service": "svc0"}]})
        with open(os.path.join(root, "grafana", "dashboards", "d%04d.json" % d), "w") as handle:
            json.dump({"uid": "d%d" % d, "title": "Dashboard %d" % d, "panels": panels}, handle)


def run_command(argv, cwd=None):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def bench(services, dashboards, compose_cli):
    root = tempfile.mkdtemp(prefix="lgtm-bench-")
    try:
        make_project(root, services, dashboards)
        row = {"services": services, "dashboards": dashboards}
        row["legacy_raw_s"], info = timed(lambda: legacy.analyse_project(root, run_command=None))
        if compose_cli:
            row["legacy_compose_s"], info = timed(lambda: legacy.analyse_project(root, run_command=run_command))
        row["go_scan_s"], go = timed(lambda: go_telemetry.scan(root))
        row["plan_s"], result = timed(lambda: plan.build_plan(info, go_findings=go["findings"]))
        row["total_s"] = row.get("legacy_compose_s", row["legacy_raw_s"]) + row["go_scan_s"] + row["plan_s"]
        row["findings"] = len(result["findings"])
        assert len(info["services"]) == services + 3 and len(info["grafana"]["dashboards"]) == dashboards
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", default=["20:30", "200:300", "2000:3000"],
                        help="services:dashboards pairs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    compose_cli = run_command(["docker", "compose", "version"])[0] == 0 if shutil.which("docker") else False
    rows = [bench(*map(int, size.split(":")), compose_cli=compose_cli) for size in args.sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| services | dashboards | analysis (compose) s | analysis (raw) s | go scan s | plan s | total s | findings |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %d | %s | %.2f | %.2f | %.3f | %.2f | %d |" % (
            r["services"], r["dashboards"], "%.2f" % r["legacy_compose_s"] if "legacy_compose_s" in r else "n/a",
            r["legacy_raw_s"], r["go_scan_s"], r["plan_s"], r["total_s"], r["findings"]))
    base = rows[0]
    for r in rows[1:]:
        factor = r["services"] / base["services"]
        print("\nx%.0f services: total time x%.1f (linear would be x%.0f)" % (factor, r["total_s"] / base["total_s"], factor))


if __name__ == "__main__":
    main()
