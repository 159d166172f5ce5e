# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The finding registry: every code the analysis can report, its severity, what it means and what to do.

The one source of docs/findings.md (``python scripts/findings_doc.py`` writes it; a unit test fails when the page
and this registry differ) and of the severities `plan.Planner.finding` uses. A code that is not here cannot be
reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

Entry = namedtuple("Entry", "severity meaning advice")

SEVERITIES = ("high", "medium", "low", "info")

# Stack and project findings (lgtm.stack.migration_plan).
PLAN = {
    'P001': Entry('medium',
                  'A dashboard has panels on the Jaeger datasource. The `jaeger` datasource type cannot read Tempo.',
                  'Panels are rewritten to Tempo (TraceQL) where a faithful query exists; the others are listed.'),
    'P002': Entry('medium',
                  'A scrape job scraped a removed component (Prometheus itself, Jaeger, the collector), or a panel '
                  'queries such a job: those series stop.',
                  "The job is dropped; the stack dashboard shows the new components' health. Remove or rewrite the "
                  'panel.'),
    'P003': Entry('medium',
                  'A Loki derived field matches the log body with a regex. OTLP logs keep trace ids in structured '
                  'metadata, so it never matches.',
                  'Replaced by a derived field on `trace_id` structured metadata (`matcherType: label`) pointing at'
                  ' Tempo.'),
    'P004': Entry('low',
                  "The collector sets `loki.attribute.labels`/`loki.resource.labels` hints. Loki's native OTLP "
                  'endpoint ignores them.',
                  'Nothing to do: `service.name`, `service.namespace`, `deployment.environment` become labels, the '
                  'rest structured metadata.'),
    'P005': Entry('high',
                  'A trace id is a Loki label (Promtail stage or dashboard selector): one stream per trace.',
                  'Alloy lifts trace ids into structured metadata; query `{service_name="svc"} \\| trace_id="<id>"`.'),
    'P006': Entry('medium',
                  'Loki `retention_period` is set but not enforced (compactor retention off, or no '
                  '`delete_request_store`).',
                  'The new Loki enforces the retention it carries over.'),
    'P007': Entry('medium',
                  'An image has no tag, `:latest`, or no digest.',
                  'Pin it. Every image of the stack is pinned.'),
    'P008': Entry('medium',
                  "A plain-text secret sits in a service's compose environment (values are never shown).",
                  'Move it to Docker secrets or a `*_FILE` variable.'),
    'P009': Entry('high',
                  'A port the stack needs is held by a kept service or another process.',
                  "Free it or change the stack's port variable."),
    'P010': Entry('medium',
                  'The legacy Loki schema (not tsdb/v13) cannot hold structured metadata or OTLP logs.',
                  'The new Loki starts fresh on tsdb/v13; the old volume is kept, not converted.'),
    'P011': Entry('medium',
                  'Grafana allows anonymous access.',
                  'The new Grafana turns anonymous access and sign-up off.'),
    'P012': Entry('low',
                  'A kept service publishes a port on every interface.',
                  'Publish it on `127.0.0.1` unless other hosts need it.'),
    'P015': Entry('medium',
                  'Prometheus rule files (recording rules, alerts) are no longer evaluated.',
                  "Load them into Mimir's ruler or recreate the alerts in Grafana."),
    'P016': Entry('info',
                  'An application runs on the host (a `host.docker.internal` target).',
                  'Point its OTLP exporter at `http://127.0.0.1:4317`; Alloy keeps scraping it.'),
    'P017': Entry('high',
                  'A kept service already has the name of a new component (e.g. an app called `alloy`).',
                  'The new component gets an `lgtm-` prefix; rename if you prefer.'),
    'P018': Entry('low',
                  "A component's config is not bind-mounted (baked into the image): it cannot be read or carried "
                  'over.',
                  "Check the new component's defaults against what the old one did."),
    'P019': Entry('medium',
                  "The collector's `prometheus` exporter added a metric prefix or const labels that dashboards rely"
                  ' on.',
                  'OTLP metrics reach Mimir without them and with `job="<namespace>/<service>"`; rewrite the '
                  'queries.'),
    'P020': Entry('info',
                  'MySQL/MariaDB or Redis runs without an exporter.',
                  'Enable the exporter in the `exporters` role.'),
    'P021': Entry('medium',
                  'An application still sends traces with Jaeger protocols.',
                  "Alloy's Jaeger receiver accepts them, without log or metric correlation; move the app to OTLP."),
    'P022': Entry('info',
                  'Named volumes are left without users.',
                  'Kept; `lgtm_migrate_remove_legacy_data: true` deletes them.'),
    'P023': Entry('low',
                  'A datasource type has no counterpart in the new stack.',
                  'It is no longer provisioned.'),
    'P024': Entry('medium',
                  'A dashboard refers to a datasource, or has an input, that no provisioned datasource matches.',
                  'Point the panel at `mimir`, `loki` or `tempo`.'),
    'P025': Entry('medium',
                  'A kept service ships logs with the Loki Docker logging driver.',
                  'Its `logging:` section is removed; Alloy reads container logs from the Docker socket.'),
    'P026': Entry('high',
                  '`lgtm_migrate_adopt_grafana_data` is set, but the legacy Grafana keeps its database outside a '
                  'named volume of the project. Blocking by default.',
                  'Move the database into a named volume, or migrate without adoption.'),
    'P027': Entry('medium',
                  "The new Grafana starts on its own empty volume; the legacy Grafana's database (UI-made "
                  'dashboards, users, datasources) stays in its volume, unread.',
                  'Export UI-made dashboards first, or set `lgtm_migrate_adopt_grafana_data: true`.'),
    'P028': Entry('medium',
                  "An exporter's credentials file (its my.cnf) is not on this machine, typically kept out of git. "
                  'The preview goes on; the real migration needs the password.',
                  'Put the file back where the compose file mounts it, or set `lgtm_exporters_mysqld_password` '
                  'from Ansible Vault.'),
    'P029': Entry('info',
                  'An exporter password is a `${VAR}` the project already keeps (`.env` or the environment).',
                  'Referenced, never copied: the new exporter reads the same variable at start '
                  '(`MYSQLD_EXPORTER_PASSWORD`, `REDIS_PASSWORD`).'),
    'P030': Entry('medium',
                  'A carried scrape job has a password or token written in prometheus.yml itself. Alloy reads it '
                  'from its environment (an 0600 env file); the migration does not copy it.',
                  'Move it to a `password_file`/`credentials_file` (mounted into Alloy read-only), or give it in '
                  '`lgtm_alloy_scrape_secrets` from Ansible Vault.'),
    'P031': Entry('medium',
                  'A carried scrape job reads a file (password, CA, certificate, key, file_sd) that no mount of '
                  'the old Prometheus service holds: Alloy cannot read it either.',
                  'Mount the file into the Prometheus service first, or set `lgtm_alloy_scrape_files`.'),
    'P032': Entry('medium',
                  'A Promtail label has no counterpart in the new pipeline (for example the job of a Promtail job '
                  'that read host files, which Alloy does not collect).',
                  'Dashboard queries on it are rewritten where a faithful query exists and reported otherwise; '
                  'collect those logs with your own Alloy config if you need them.'),
    'P033': Entry('medium',
                  "A dashboard queries Jaeger's span metrics (SPM: traces_span_metrics_*, calls_total, "
                  "latency_bucket), whose names, labels and units differ from Tempo's.",
                  'Rewritten to `traces_spanmetrics_*` (label `service`, seconds, values kept in ms) where exact; '
                  'other panels are flagged in their description and listed by the dashboards step.'),
    'P034': Entry('medium',
                  'A legacy Grafana setting holds a secret written in clear in the compose file (SMTP password, '
                  'OAuth client secret); it is not copied.',
                  "Keep it in the project's .env and set `lgtm_grafana_settings_env: {KEY: '${VAR}'}`."),
    'P035': Entry('info',
                  'A legacy Grafana setting is not carried on purpose (the role owns it: admin account, paths, '
                  'ports, TLS) - the reason is in the message.',
                  "Set it through the grafana role's variables if you still need it."),
    'P036': Entry('medium',
                  'Prometheus sent alerts to an Alertmanager (`alerting.alertmanagers`, or an Alertmanager '
                  'service): the new stack evaluates no Prometheus rules, so nothing sends alerts there any more.',
                  "Recreate the alerts in Grafana Alerting (or Mimir's ruler with its Alertmanager) and point them "
                  'at the same receivers.'),
    'P037': Entry('medium',
                  'A component, option or pipeline of the legacy OpenTelemetry Collector has no Alloy conversion: '
                  'what it did (extension endpoint, connector output, filter, debug output, unused declaration) '
                  'stops.',
                  'Read the reason in the inventory; write the matching otelcol.* component in your own Alloy '
                  'config if you still need it.'),
    'P038': Entry('info',
                  'A bind-mounted file or directory of a removed service is read by nothing in the new stack; it '
                  'stays on disk (and in the backup).',
                  'Delete it once nobody needs it, or carry its content by hand.'),
    'P039': Entry('medium',
                  'A Promtail job read files the new pipeline does not collect (host logs, journal, syslog...): '
                  'those logs stop reaching Loki.',
                  'Add a loki.source.file (or the matching Alloy source) in your own Alloy config.'),
    'P040': Entry('info',
                  'A constant Promtail label (the job name, the compose project) is not written by the new '
                  'pipeline; the dashboards step removes its matcher and the queries keep their meaning.',
                  'Nothing to do; query by service_name and service_namespace.'),
    'P041': Entry('info',
                  'A legacy named volume is deleted (lgtm_migrate_remove_legacy_data): its data is gone after the '
                  'run (the backup does not hold volumes).',
                  'Nothing to do if that was the intent; otherwise set lgtm_migrate_remove_legacy_data: false.'),
    'P042': Entry('info',
                  'Remote backends (lgtm_backend: remote): traces, logs and metrics go to the Tempo, Loki and Mimir '
                  'named in lgtm_remote; none of them runs or stores data on this host. The legacy stack\'s data '
                  '(Jaeger, Prometheus, Loki volumes) stays behind in its volumes and is not copied to the remote.',
                  'Keep the legacy volumes while you still need their history (see docs/remote_backends.md for '
                  'moving it); Grafana here reads the remote datasources.'),
    'P043': Entry('info',
                  "A Prometheus rule file is evaluated by Mimir's ruler: the file is mounted read-only into Mimir's "
                  'local rule storage (tenant anonymous), recording rules write the same series names, alerting '
                  'rules fire in Mimir.',
                  'Set lgtm_mimir_alertmanager_url to deliver the alerts; edit rules in the file, not through '
                  "Mimir's ruler API (local storage is read-only)."),
    'P044': Entry('info',
                  "The Alertmanager the legacy Prometheus sent alerts to receives those of Mimir's ruler "
                  '(`ruler.alertmanager_url`, one URL per static target, Alertmanager API v2): its routes and '
                  'receivers are unchanged.',
                  'Prometheus added its `global.external_labels` to every alert it sent: check Alertmanager routes '
                  'that match on them. lgtm_mimir_alertmanager_url overrides the carried URL.'),
    'P045': Entry('medium',
                  'An Alertmanager config holds `${VAR}` placeholders: Alertmanager does not expand environment '
                  'variables, so the receivers using them never delivered. The migration keeps the Alertmanager '
                  'and its config as they are.',
                  'Write the values into the file (kept out of git), or render it from a template before '
                  'Alertmanager starts; then test a receiver with amtool.'),
    'P046': Entry('medium',
                  'The legacy Loki set no `retention_period`: it kept logs until its disk filled. The new Loki '
                  'deletes logs older than lgtm_loki_retention_period (168h unless set) from its own storage.',
                  'Set lgtm_loki_retention_period to the policy you want (a Prometheus duration such as 720h or '
                  '30d; 0s keeps logs forever) before the migration.'),
}

# Go code findings (lgtm.stack.go_telemetry_info). GO005 is low when client_golang metrics exist, else medium.
GO = {
    'GO001': Entry('high',
                   '`go.opentelemetry.io/otel/exporters/jaeger`: deprecated in v1.17.0, removed in v1.18.0.',
                   'Use `otlptracehttp.New`, endpoint from `OTEL_EXPORTER_OTLP_ENDPOINT` (Alloy, port 4318).'),
    'GO002': Entry('high',
                   '`github.com/uber/jaeger-client-go`: archived, Jaeger protocols only.',
                   'Move to the OpenTelemetry SDK (`sdktrace.NewTracerProvider`) with OTLP.'),
    'GO003': Entry('medium',
                   'OpenTracing API: archived.',
                   'Move to the OpenTelemetry API (`otel.Tracer`); the OpenTracing bridge helps in between.'),
    'GO004': Entry('high',
                   'A tracer provider without an OTLP trace exporter.',
                   'Add `otlptracehttp` with `sdktrace.WithBatcher`.'),
    'GO005': Entry('low/medium',
                   'Metrics without OTLP: no exemplars, no resource identity.',
                   'OTel metrics with `otlpmetrichttp.New` (exemplars from the request context).'),
    'GO006': Entry('high',
                   'Logs carry no trace/span ids.',
                   'A log bridge (`otelslog.NewLogger`, or otelzap, otellogrus) with `otlploghttp`, or trace ids in '
                   'every JSON log line.'),
    'GO007': Entry('medium',
                   'A log bridge without an OTLP log exporter.',
                   'Add `otlploghttp.New`.'),
    'GO008': Entry('medium',
                   'A hard-coded telemetry endpoint.',
                   'Read `OTEL_EXPORTER_OTLP_ENDPOINT` instead: `otlptracehttp.New(ctx)` without an endpoint option.'),
    'GO009': Entry('medium',
                   '`service.name` set in code overrides `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.',
                   '`resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())`, no service name in '
                   'code.'),
    'GO010': Entry('medium',
                   'No propagator registered: traces break at every hop.',
                   '`otel.SetTextMapPropagator` with `propagation.TraceContext{}` and `propagation.Baggage{}`.'),
    'GO011': Entry('medium',
                   'No OpenTelemetry at all.',
                   'Instrument traces, metrics and logs over OTLP: `telemetry.Setup` in docs/examples/go.'),
}

REGISTRY = dict(PLAN, **GO)

INTRO = (
    '# Findings of the migration analysis\n'
    '\n'
    '`lgtm.stack.migration_plan` and `lgtm.stack.go_telemetry_info` report risks as\n'
    'findings: a stable code, a severity, the file and line that show it, what is\n'
    'wrong and what to do. The migration report (`observability/MIGRATION_REPORT.md`)\n'
    'lists them most severe first. This page explains each code.\n'
    '\n'
    'Severities: **high** breaks correlation or the migration itself; **medium**\n'
    'loses data, a signal or a dashboard unless you act; **low** is hygiene;\n'
    '**info** is for your information.\n'
    "\n"
)

SECTIONS = (
    ("## Stack and project (`P\u2026`)", "what the collection does / what you do", PLAN),
    ("## Go code (`GO\u2026`, from `go_telemetry_info`)", "what to change", GO),
)


def severity(code):
    """The registered severity of a code (KeyError for an unknown code)."""
    return REGISTRY[code].severity


def render_markdown():
    """docs/findings.md, from the registry."""
    out = [INTRO.rstrip("\n"), ""]
    for title, advice_title, entries in SECTIONS:
        out += [title, "", "| code | severity | what it means | %s |" % advice_title, "|---|---|---|---|"]
        out += ["| %s | %s | %s | %s |" % (code, e.severity, e.meaning, e.advice)
                for code, e in sorted(entries.items())]
        out.append("")
    return "\n".join(out)
