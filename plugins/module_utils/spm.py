# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jaeger Service Performance Monitoring (SPM) stacks: the fate of their scrape jobs and their dashboards' PromQL.

Upstream facts this module relies on (checked in the sources):
- open-telemetry/opentelemetry-collector-contrib connector/spanmetricsconnector/connector.go: metrics `calls` and
  `duration` (histogram, unit `ms` by default), attributes `service.name`, `span.name`, `span.kind`, `status.code`
  with values from traceutil.SpanKindStr / StatusCodeStr (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`...);
  factory.go: `DefaultNamespace = "traces.span.metrics"`. Through a Prometheus exporter that is
  `traces_span_metrics_calls_total` and `traces_span_metrics_duration_milliseconds_{bucket,sum,count}` with labels
  `service_name`, `span_name`, `span_kind`, `status_code`.
- jaegertracing/jaeger docker-compose/monitor (jaeger-v2-config.yml, prometheus.yml): Jaeger v2 runs that connector
  and a `prometheus` exporter on :8889, scraped as job `aggregated-trace-metrics` (target `spm_metrics_source:8889`,
  a network alias of the jaeger service); perses/dashboards/spm-service.yaml queries both shapes.
- Jaeger v1 SPM (the collector's spanmetrics processor, no namespace): `calls_total`, `latency_{bucket,sum,count}`
  in milliseconds, labels `service_name` and `operation` (README of processor/spanmetricsprocessor).
- Tempo's metrics generator (stack-facts.md): `traces_spanmetrics_calls_total`, `traces_spanmetrics_latency_*` in
  seconds, labels `service`, `span_name`, `span_kind`, `status_code` (same enum strings), `__metrics_gen_instance`;
  default histogram_buckets `prometheus.ExponentialBuckets(0.002, 2, 12)` (grafana/tempo
  modules/generator/processor/spanmetrics/config.go), written to Mimir by Tempo itself.

Pure functions; no file or network access.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation

TEMPO_CALLS = "traces_spanmetrics_calls_total"
TEMPO_LATENCY = "traces_spanmetrics_latency"
# Labels of Tempo's span-metric series (stack-facts.md), `le` on the latency buckets.
TEMPO_LABELS = ("service", "span_name", "span_kind", "status_code", "le", "__metrics_gen_instance")
# Tempo's default span-metrics histogram bounds, in seconds: ExponentialBuckets(0.002, 2, 12).
TEMPO_DEFAULT_BUCKETS = tuple(Decimal("0.002") * (2 ** i) for i in range(12))

# legacy series -> (Tempo series, unit of the legacy value: "ms", "s" or None for counts, generic name?)
_V2 = "traces_span_metrics_"
SPM_SERIES = {
    _V2 + "calls_total": (TEMPO_CALLS, None, False),
    _V2 + "duration_milliseconds_bucket": (TEMPO_LATENCY + "_bucket", "ms", False),
    _V2 + "duration_milliseconds_sum": (TEMPO_LATENCY + "_sum", "ms", False),
    _V2 + "duration_milliseconds_count": (TEMPO_LATENCY + "_count", None, False),
    _V2 + "duration_seconds_bucket": (TEMPO_LATENCY + "_bucket", "s", False),
    _V2 + "duration_seconds_sum": (TEMPO_LATENCY + "_sum", "s", False),
    _V2 + "duration_seconds_count": (TEMPO_LATENCY + "_count", None, False),
    # Without a namespace (connector with namespace "", Jaeger v1 with PROMETHEUS_QUERY_SUPPORT_SPANMETRICS_CONNECTOR).
    "duration_milliseconds_bucket": (TEMPO_LATENCY + "_bucket", "ms", True),
    "duration_milliseconds_sum": (TEMPO_LATENCY + "_sum", "ms", True),
    "duration_milliseconds_count": (TEMPO_LATENCY + "_count", None, True),
    # Jaeger v1 SPM (spanmetrics processor).
    "calls_total": (TEMPO_CALLS, None, True),
    "latency_bucket": (TEMPO_LATENCY + "_bucket", "ms", True),
    "latency_sum": (TEMPO_LATENCY + "_sum", "ms", True),
    "latency_count": (TEMPO_LATENCY + "_count", None, True),
}
# Legacy label -> Tempo label; None: a label of the scraped endpoint, which Tempo's series do not have.
LABEL_MAP = {"service_name": "service", "operation": "span_name", "span_name": "span_name",
             "span_kind": "span_kind", "status_code": "status_code", "le": "le",
             "job": None, "instance": None}
# A generic name (calls_total, latency_bucket...) is SPM only when the query also uses one of these labels.
_SPM_LABELS = ("service_name", "operation", "span_kind", "status_code")
_GROUPING = ("by", "without", "on", "ignoring", "group_left", "group_right")
_KEYWORDS = _GROUPING + ("bool", "offset", "and", "or", "unless", "atan2", "inf", "nan")
# Functions through which a value in seconds stays proportional: `f(1000 x) == 1000 f(x)` (the factor is moved
# outwards through them only, so the rewrite is exact).
_LINEAR = ("sum", "avg", "min", "max", "rate", "irate", "increase", "delta", "idelta", "deriv", "sort",
           "sort_desc", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "last_over_time")
_AGGREGATIONS = ("sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
                 "count_values", "limitk", "limit_ratio")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
  | (?P<range>\[(?:[^\[\]]|\[[^\[\]]*\])*\])
  | (?P<var>\$\{[^}]*\}|\$[A-Za-z0-9_]+)
  | (?P<num>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?:ms|[smhdwy])?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:.]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/%^=<>@])
    """, re.X)


class _Tok(object):
    __slots__ = ("kind", "text")

    def __init__(self, kind, text):
        self.kind, self.text = kind, text


def tokenize(expr):
    """PromQL (with Grafana variables) -> tokens; whitespace kept so that the text joins back unchanged."""
    out, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise ValueError("cannot read %r at offset %d" % (expr[pos:pos + 20], pos))
        out.append(_Tok(match.lastgroup, match.group()))
        pos = match.end()
    return out


def _unquote(text):
    if text[0] == "`":
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _next(tokens, i):
    """Index of the next non-whitespace token after i (len(tokens) if none)."""
    i += 1
    while i < len(tokens) and tokens[i].kind == "ws":
        i += 1
    return i


def _prev(tokens, i):
    i -= 1
    while i >= 0 and tokens[i].kind == "ws":
        i -= 1
    return i


def _match_paren(tokens, i, opening="lparen", closing="rparen"):
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].kind == opening:
            depth += 1
        elif tokens[j].kind == closing:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced %s" % opening)


def _series_names(tokens):
    """Metric names used as vector selectors: identifiers that are not functions, keywords or label names."""
    names, depth_brace, label_list = [], 0, set()
    for i, tok in enumerate(tokens):
        if tok.kind == "ident" and tok.text == "label_values" and depth_brace == 0:
            # Grafana's label_values(selector, label): the last argument is a label name.
            paren = _next(tokens, i)
            if paren < len(tokens) and tokens[paren].kind == "lparen":
                last = _prev(tokens, _match_paren(tokens, paren))
                if tokens[last].kind == "ident" and tokens[_prev(tokens, last)].kind == "comma":
                    label_list.add(last)
        if tok.kind == "lbrace":
            depth_brace += 1
        elif tok.kind == "rbrace":
            depth_brace -= 1
        elif tok.kind == "ident" and depth_brace == 0:
            nxt = _next(tokens, i)
            if tok.text.lower() in _KEYWORDS:
                if tok.text.lower() in _GROUPING and nxt < len(tokens) and tokens[nxt].kind == "lparen":
                    label_list.update(range(nxt, _match_paren(tokens, nxt) + 1))
                continue
            if i in label_list or (nxt < len(tokens) and tokens[nxt].kind == "lparen"):
                continue
            if nxt < len(tokens) and tokens[nxt].kind == "ident" and tokens[nxt].text.lower() in ("by", "without"):
                continue  # sum by (x) (...)
            names.append((i, tok.text))
    return names, label_list


def _labels_used(tokens, label_list):
    used = set()
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.kind == "lbrace":
            depth += 1
        elif tok.kind == "rbrace":
            depth -= 1
        elif tok.kind == "ident" and (depth > 0 or i in label_list):
            used.add(tok.text)
    return used


def uses_spm(expr):
    """True when a PromQL expression queries Jaeger SPM span metrics (cheap pre-check for dashboards)."""
    if not isinstance(expr, str) or not re.search(r"calls|duration|latency", expr):
        return False
    try:
        tokens = tokenize(expr)
    except ValueError:
        return "traces_span_metrics_" in expr
    names, label_list = _series_names(tokens)
    spm = [n for _i, n in names if n in SPM_SERIES]
    if any(not SPM_SERIES[n][2] for n in spm):
        return True
    return bool(spm) and bool(set(_SPM_LABELS) & _labels_used(tokens, label_list))


def _seconds(value):
    """'250' (ms) -> '0.25' (s); None when the value is not a number."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    text = format((number / 1000).normalize(), "f")
    return text


def rewrite_spm_query(expr):
    """Rewrite a PromQL query on Jaeger SPM span metrics onto Tempo's span metrics.

    Returns (new_expr, changes, problems): new_expr is None when the query cannot be rewritten at all (left as it
    was, the panel is flagged); problems not empty means the rewrite is done but not faithful in every respect.
    A value in milliseconds stays in milliseconds: the sub-expression whose value is in seconds on Tempo's series
    (histogram_quantile over the latency buckets, a rate of `_sum`) is multiplied by 1000, so panel units, thresholds
    and overrides written in ms stay right.
    """
    try:
        tokens = tokenize(expr)
    except ValueError as exc:
        return None, [], ["not parsed as PromQL: %s" % exc]
    names, label_list = _series_names(tokens)
    spm = [(i, n) for i, n in names if n in SPM_SERIES]
    if not spm or (all(SPM_SERIES[n][2] for _i, n in spm)
                   and not set(_SPM_LABELS) & _labels_used(tokens, label_list)):
        return expr, [], []
    changes, problems = [], []
    others = sorted(set(n for _i, n in names if n not in SPM_SERIES))
    if others:
        problems.append("the query also uses %s, which is not a span metric: check that its labels still match "
                        "Tempo's (service, span_name, span_kind, status_code)" % ", ".join(others))
    wraps = []
    replace = {}  # token index -> new text (None removes the token)
    for i, name in spm:
        new_name, unit, _generic = SPM_SERIES[name]
        replace[i] = new_name
        changes.append("%s -> %s" % (name, new_name))
        j = _next(tokens, i)
        if j < len(tokens) and tokens[j].kind == "lbrace":
            end = _match_paren(tokens, j, "lbrace", "rbrace")
            self_problems = _rewrite_matchers(tokens, j, end, unit, replace, changes)
            problems.extend(self_problems)
            after = end
        else:
            after = i
        if unit != "ms" or name.endswith("_count"):
            continue
        if name.endswith("_bucket"):
            call = _enclosing_call(tokens, i, "histogram_quantile")
            if call is None:
                continue  # bucket counts: no unit (le matchers converted above)
            changes.append("histogram_quantile over %s: seconds now, multiplied by 1000 to stay in ms; estimated "
                           "from Tempo's buckets (default 2 ms to 4.096 s), not Jaeger's" % new_name)
            wraps.append(_climb(tokens, call))
        else:  # _sum
            nxt = _next(tokens, after)
            if nxt < len(tokens) and tokens[nxt].kind == "range":
                call = _enclosing_call(tokens, i, None)
                if call is None:
                    problems.append("%s[...] outside a function: its value is in seconds now" % new_name)
                    continue
            else:
                call = (i, after)
            changes.append("%s is in seconds: multiplied by 1000 to stay in ms" % new_name)
            wraps.append(_climb(tokens, call))
    # Groupings and label_values() arguments.
    for i in sorted(label_list):
        tok = tokens[i]
        if tok.kind != "ident":
            continue
        new = LABEL_MAP.get(tok.text, tok.text)
        if new is None or (new not in TEMPO_LABELS and not others):
            problems.append("grouping label %s: Tempo's span metrics have no such label (only %s, plus "
                            "dimensions configured in Tempo)" % (tok.text, ", ".join(TEMPO_LABELS[:4])))
        elif new != tok.text:
            replace[i] = new
            changes.append("label %s -> %s (grouping)" % (tok.text, new))
    text = _render(tokens, replace, wraps)
    return text, _unique(changes), _unique(problems)


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _rewrite_matchers(tokens, start, end, unit, replace, changes):
    """Matchers of one selector {start..end}; returns the problems."""
    problems = []
    items, current = [], []
    for k in range(start + 1, end):
        if tokens[k].kind == "comma":
            items.append((current, k))
            current = []
        elif tokens[k].kind != "ws":
            current.append(k)
    if current:
        items.append((current, None))
    kept = 0
    for parts, comma in items:
        if len(parts) != 3 or tokens[parts[0]].kind != "ident" or tokens[parts[2]].kind != "str":
            problems.append("selector matcher %s not understood" % "".join(tokens[p].text for p in parts))
            kept += 1
            continue
        label, operator, value = tokens[parts[0]].text, tokens[parts[1]].text, tokens[parts[2]].text
        if label == "__name__":
            problems.append("__name__ matcher %s%s%s: rewrite it by hand" % (label, operator, value))
            kept += 1
            continue
        if label not in LABEL_MAP:
            problems.append("matcher %s%s%s: Tempo's span metrics have no label %s unless it is configured as a "
                            "dimension in Tempo" % (label, operator, value, label))
            kept += 1
            continue
        new = LABEL_MAP[label]
        if new is None:
            # The scraped endpoint's job/instance: Tempo writes the series itself (no scrape).
            for k in parts + ([comma] if comma is not None else []):
                replace[k] = None
            if comma is not None:
                k = comma + 1
                while k < end and tokens[k].kind == "ws":
                    replace[k] = None
                    k += 1
            changes.append("matcher %s%s%s removed (a label of the old scrape job)" % (label, operator, value))
            continue
        kept += 1
        if new != label:
            replace[parts[0]] = new
            changes.append("%s -> %s" % (label, new))
        if label == "le" and unit == "ms":
            raw = _unquote(value)
            if operator in ("=~", "!~"):
                problems.append("le%s%s: a regex over bucket bounds in ms; rewrite it in seconds" % (operator, value))
            elif raw in ("+Inf", "Inf", "inf"):
                pass
            else:
                seconds = _seconds(raw)
                if seconds is None:
                    problems.append("le%s%s: not a number" % (operator, value))
                    continue
                replace[parts[2]] = '"%s"' % seconds
                changes.append('le="%s" (ms) -> le="%s" (s)' % (raw, seconds))
                if Decimal(seconds) not in TEMPO_DEFAULT_BUCKETS:
                    problems.append('le="%s": Tempo\'s default span-metrics buckets (0.002 to 4.096 s, doubling) '
                                    'have no such bound; add it to the generator\'s histogram_buckets or pick the '
                                    'nearest bound' % seconds)
    if kept == 0:
        for k in range(start, end + 1):
            replace[k] = None  # nothing left: no braces
        return problems
    # A removed matcher takes its comma along; the last one takes the comma before it.
    for n, (parts, comma) in enumerate(items):
        if comma is None and all(replace.get(k, "") is None for k in parts) and n > 0:
            before = [c for p, c in items[:n] if not all(replace.get(k, "") is None for k in p)]
            if before and before[-1] is not None:
                for k in range(before[-1], parts[0]):
                    if k == before[-1] or tokens[k].kind == "ws":
                        replace[k] = None
    return problems


def _open_parens_before(tokens, i):
    """Token indices of the parentheses still open at token i, innermost first."""
    depth = 0
    for k in range(i - 1, -1, -1):
        if tokens[k].kind == "rparen":
            depth += 1
        elif tokens[k].kind == "lparen":
            if depth:
                depth -= 1
            else:
                yield k


def _enclosing_call(tokens, i, name):
    """(start, end) token indices of the innermost call around token i (of the function `name` if given)."""
    for k in _open_parens_before(tokens, i):
        start = _call_start(tokens, k)
        if start is None:
            continue
        fname = tokens[start].text.lower()
        if name is None or fname == name:
            return start, _call_end(tokens, k, fname)
    return None


def _call_start(tokens, lparen):
    """Token index of the function name of the call opened at lparen, or None for a bare parenthesis."""
    p = _prev(tokens, lparen)
    if p < 0:
        return None
    if tokens[p].kind == "ident" and tokens[p].text.lower() not in _KEYWORDS:
        return p
    if tokens[p].kind == "rparen":  # sum by (x) (...)
        open_ = _open_of(tokens, p)
        q = _prev(tokens, open_)
        if q >= 0 and tokens[q].kind == "ident" and tokens[q].text.lower() in ("by", "without"):
            r = _prev(tokens, q)
            if r >= 0 and tokens[r].kind == "ident" and tokens[r].text.lower() in _AGGREGATIONS:
                return r
    return None


def _open_of(tokens, rparen):
    depth = 0
    for k in range(rparen, -1, -1):
        if tokens[k].kind == "rparen":
            depth += 1
        elif tokens[k].kind == "lparen":
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced parenthesis")


def _call_end(tokens, lparen, fname):
    end = _match_paren(tokens, lparen)
    if fname in _AGGREGATIONS:  # sum(...) by (le)
        nxt = _next(tokens, end)
        if nxt < len(tokens) and tokens[nxt].kind == "ident" and tokens[nxt].text.lower() in ("by", "without"):
            paren = _next(tokens, nxt)
            if paren < len(tokens) and tokens[paren].kind == "lparen":
                end = _match_paren(tokens, paren)
    return end


def _climb(tokens, span):
    """Move the factor outwards through linear functions whose only argument is the span (cosmetic, exact)."""
    start, end = span
    while True:
        # the call around span, if span is its whole (only) argument
        found = next(_open_parens_before(tokens, start), None)
        if found is None or _next(tokens, found) != start:
            return start, end
        close = _match_paren(tokens, found)
        if _prev(tokens, close) != end:
            return start, end
        call = _call_start(tokens, found)
        if call is None or tokens[call].text.lower() not in _LINEAR:
            return start, end
        start, end = call, _call_end(tokens, found, tokens[call].text.lower())


def _render(tokens, replace, wraps):
    wraps = sorted(set(wraps))
    first = _next(tokens, -1)
    last = _prev(tokens, len(tokens))
    opens, closes = {}, {}
    for start, end in wraps:
        whole = start == first and end == last
        opens[start] = opens.get(start, "") + ("" if whole else "(")
        closes[end] = (" * 1000" if whole else " * 1000)") + closes.get(end, "")
    out = []
    for k, tok in enumerate(tokens):
        out.append(opens.get(k, ""))
        text = replace.get(k, tok.text)
        if text is not None:
            out.append(text)
        out.append(closes.get(k, ""))
    return "".join(out)


# --------------------------------------------------------------------------- scrape jobs

# What a removed component's scrape endpoint produced, and where the data comes from in the new stack.
_ORIGINS = {
    "jaeger": ("Jaeger's own telemetry", None),
    "prometheus": ("Prometheus' own telemetry", None),
    "otel_collector": ("the OpenTelemetry Collector's metrics", None),
}
SPM_PORTS = (8889,)
SPM_JOB_NAMES = ("aggregated-trace-metrics",)


def _targets(job):
    return [str(t) for s in job.get("static_configs") or [] for t in s.get("targets") or []]


def _component_of(entry):
    return entry.get("component") if isinstance(entry, dict) else entry


def scrape_job_fate(job, removed_services_by_name, components=None):
    """The fate of a legacy scrape job whose targets are ALL on removed services, else None (carry it).

    job: a scrape config of legacy_stack_info (job_name, static_configs...).
    removed_services_by_name: every name a removed service answers to on the network (compose service name,
        container_name, network aliases) -> its component (or a dict with `component`).
    components: the new stack's components: a list of names, or a dict name -> settings; `tempo` may carry
        `generator_processors` (default [span-metrics, service-graphs], as lgtm_tempo_generator_processors).
    Returns {action: drop, reason, replacement}: replacement says where the data comes from now (None: nowhere).
    """
    targets = _targets(job)
    if not targets or job.get("file_sd_configs") or any(k.endswith("_sd_configs") and job.get(k) for k in job):
        return None
    removed = []
    for target in targets:
        host, _sep, port = target.rpartition(":") if ":" in target else (target, "", "")
        entry = removed_services_by_name.get(host)
        component = _component_of(entry) if entry is not None else None
        if component is None:
            if host in ("localhost", "127.0.0.1") and port == "9090":
                component = "prometheus"
            else:
                return None
        removed.append((host, int(port) if port.isdigit() else None, component))
    components = components or {}
    if isinstance(components, (list, tuple, set)):
        components = dict((c, {}) for c in components)
    tempo = components.get("tempo")
    processors = (tempo or {}).get("generator_processors", ["span-metrics", "service-graphs"]) \
        if tempo is not None else []
    spm = [r for r in removed if r[2] in ("jaeger", "otel_collector")
           and (r[1] in SPM_PORTS or job.get("job_name") in SPM_JOB_NAMES)]
    if spm and len(spm) == len(removed):
        host, port, component = spm[0]
        producer = ("Jaeger's SPM span metrics (its spanmetrics connector behind a prometheus exporter on %s:%s)"
                    % (host, port) if component == "jaeger" else
                    "the collector's prometheus exporter (%s:%s), span metrics included" % (host, port))
        if "span-metrics" in processors:
            replacement = ("Tempo's metrics generator writes span metrics (%s, %s_*, in seconds, label service) "
                           "to Mimir itself: no scrape needed" % (TEMPO_CALLS, TEMPO_LATENCY))
        else:
            replacement = None
        reason = "it scraped %s, which the migration removes; %s" % (
            producer, replacement or "span metrics are not generated any more: add span-metrics to "
                                     "lgtm_tempo_generator_processors")
        return {"action": "drop", "reason": reason, "replacement": replacement}
    names = sorted(set(r[2] for r in removed))
    what = ", ".join(_ORIGINS.get(n, ("the legacy %s's metrics" % n, None))[0] for n in names)
    return {"action": "drop", "reason": "it scraped %s, which the migration removes; Alloy, Tempo, Loki and Mimir "
                                        "report their own health instead" % what, "replacement": None}
