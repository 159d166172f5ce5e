# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upstream contract: check an Alloy config against the argument facts of Alloy v1.18.1.

:func:`check` walks a parsed config (the collection's parser, :mod:`alloy`) and compares every
component block with :data:`alloy_facts.COMPONENTS` (generated from the recorded upstream schema):

- the component exists in the facts and is generally available (``--stability.level`` is not raised
  by the collection), component blocks carry a label and config blocks (``logging``) none;
- every attribute and block is known, an attribute is not written as a block or a block as an
  attribute, an attribute is set once, a non-repeatable block appears once, required arguments are
  present, nested blocks have no label;
- literal values have the right kind (string, number, bool, list, map/object, capsule), with
  Alloy's own conversions: a number is accepted where a string is expected and a numeric string
  where a number is (``convertValue`` in Alloy's syntax decoder), then the string must parse:
  durations with Go's ``time.ParseDuration``, ``bytes`` sizes with ``units.ParseBase2Bytes``, and
  ``enum`` values must be in their set. Expressions (references, ``sys.env(...)``, operators) cannot
  be evaluated statically and are accepted, except where a capsule is demanded: there only a
  reference (or a call) fits, never a literal;
- the prose Validate/decode rules of the facts, one function per rule (``RULES`` below), each citing
  the rule text it implements (a unit test checks every cited text is still in the facts).

Every error is a string ``source:line:column: <component> "<label>": <argument>: <message>``.

Rules of the facts NOT encoded, and why:

- ``[normalize]`` rules: they describe what Alloy does with a valid value, nothing to refuse.
- ``[decode] X is required`` / ``... requires `a` and `b``` rules: covered by the generic required-argument
  check (the facts mark those arguments ``required``); enum-only rules (``must be one of ...``) likewise by
  the generic enum check, except where the rule says case-insensitive (implemented as rules).
- OTTL parsing (transform/filter ``[upstream]`` rules, tail_sampling ottl_condition): needs the OTTL grammar
  of contrib v0.153.0; only the statement context against the signal is checked.
- http_headers reserved names (prometheus/common ``Headers.Validate``): the reserved list is not in the facts.
- labelmap replacement templates, ``$``-templated target labels and regexes (RE2): need Go's regexp syntax
  and Prometheus' template expansion; only presence of target_label is checked.
- loki.process stage.geoip, stage.luhn, stage.metrics, stage.eventlogmessage/windowsevent, LogQL selectors of
  stage.match and JMESPath of stage.json: the collection writes none of them (geoip/metrics/luhn/eventlog)
  or checking them needs the upstream grammars (LogQL, JMESPath, Go templates).
- Components the collection never writes: k8sattributes, tail_sampling, probabilistic_sampler (upstream
  Validate only), azuread UUID/scope checks and sigv4/google_iam details of prometheus.remote_write beyond the
  one-auth-method rule, prometheus.exporter.mysql DSN parsing, loki.source.file, livedebugging.
- loki.write queue_config stability (any non-default value): the collection never writes queue_config.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.lgtm.stack.plugins.module_utils import alloy_facts
from ansible_collections.lgtm.stack.plugins.module_utils.alloy import AlloyError, Config, Expr, evaluate, parse

GA = "generally-available"
STABILITY_ORDER = ("experimental", "public-preview", GA)

DYNAMIC = object()  # a value that cannot be evaluated without running Alloy

# ----------------------------------------------------------------------------- value grammars

_DURATION_UNITS = ("ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h")
_DURATION_RE = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:%s))+$" % "|".join(
    sorted((re.escape(u) for u in _DURATION_UNITS), key=len, reverse=True)))
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(%s)" % "|".join(
    sorted((re.escape(u) for u in _DURATION_UNITS), key=len, reverse=True)))
_DURATION_NS = {"ns": 1, "us": 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_BYTES_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_BYTES_RE_NEW = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:B|KiB|MiB|GiB|TiB|PiB|EiB))+$")
_BYTES_RE_OLD = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:B|KB|MB|GB|TB|PB|EB))+$")
_BYTES_PART = re.compile(r"(\d+\.?\d*|\.\d+)(KiB|MiB|GiB|TiB|PiB|EiB|KB|MB|GB|TB|PB|EB|B)")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def parse_duration(text):
    """Nanoseconds of a Go duration string (time.ParseDuration: "1m30s", "250ms", "0"), or None."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0
    if not _DURATION_RE.match(text):
        return None
    total = sum(float(n) * _DURATION_NS[u] for n, u in _DURATION_PART.findall(body))
    return -total if text.startswith("-") else total


def parse_bytes(text):
    """Bytes of a units.ParseBase2Bytes string ("10MB" = "10MiB" = 10485760, "0"), or None."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0
    if not (_BYTES_RE_NEW.match(text) or _BYTES_RE_OLD.match(text)):
        return None
    power = dict((u, 1024 ** i) for i, u in enumerate(("B", "K", "M", "G", "T", "P", "E")))
    total = sum(float(n) * power[u[0]] for n, u in _BYTES_PART.findall(body))
    return -total if text.startswith("-") else total


def _go_number_string(value):
    """The string Alloy makes of a number when a string is expected."""
    if isinstance(value, float) and value.is_integer():
        return repr(value)  # Alloy prints floats with their decimals too; the exact text does not matter here
    return str(value)


def _numeric_string(text):
    """Alloy's string -> number conversion (strconv.ParseInt/ParseFloat/ParseUint)."""
    try:
        if text[:1] == "-" or not any(c in text for c in ".eE"):
            return int(text, 10)
        return float(text)
    except ValueError:
        return None


_TYPE_CACHE = {}


def parse_type(text):
    """'list(map(string))' -> ('list', ('map', ('string',)))."""
    if text in _TYPE_CACHE:
        return _TYPE_CACHE[text]
    match = re.match(r"^(list|map|capsule)\((.*)\)$", text)
    if not match:
        result = (text,)
    elif match.group(1) == "capsule":
        result = ("capsule", match.group(2))
    else:
        result = (match.group(1), parse_type(match.group(2)))
    _TYPE_CACHE[text] = result
    return result


def _describe(value):
    if value is True or value is False:
        return "the bool %s" % str(value).lower()
    if isinstance(value, (int, float)):
        return "the number %r" % value
    if isinstance(value, str):
        return "the string %s" % _q(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return type(value).__name__


def _q(text):
    text = str(text)
    return '"%s"' % (text if len(text) <= 60 else text[:57] + "...")


def _type_name(ty):
    if ty[0] in ("list", "map"):
        return "%s(%s)" % (ty[0], _type_name(ty[1]))
    if ty[0] == "capsule":
        return "capsule(%s)" % ty[1]
    return ty[0]


def check_value(value, spec, ty=None):
    """Messages (path, text) for a literal value against an argument spec (or a parsed type)."""
    ty = ty or parse_type(spec.get("type", "any"))
    out = []
    _check_value(value, spec, ty, "", out)
    return out


def _check_value(value, spec, ty, path, out):
    kind = ty[0]
    if value is DYNAMIC or kind == "any" or value is None:
        return
    if isinstance(value, Expr):
        return  # a reference or a call: its kind is known only when Alloy evaluates it
    if kind == "capsule":
        out.append((path, "expects a reference to a %s (capsule), not %s" % (ty[1], _describe(value))))
        return
    if kind == "list":
        if not isinstance(value, list):
            out.append((path, "expects %s, not %s" % (_type_name(ty), _describe(value))))
            return
        for index, item in enumerate(value):
            _check_value(item, spec, ty[1], "%s[%d]" % (path, index), out)
        return
    if kind == "map" or kind == "object":
        if not isinstance(value, dict):
            out.append((path, "expects %s, not %s" % ("an object" if kind == "object" else _type_name(ty),
                                                      _describe(value))))
            return
        fields = spec.get("fields") if kind == "object" else None
        for key, item in value.items():
            if fields is not None:
                if key not in fields:
                    out.append((path + "." + key, "unknown object key (known: %s)" % ", ".join(sorted(fields))))
                    continue
                _check_value(item, fields[key], parse_type(fields[key].get("type", "any")), path + "." + key, out)
            else:
                _check_value(item, {}, ty[1], "%s[%s]" % (path, _q(key)), out)
        return
    if kind == "bool":
        if not isinstance(value, bool):
            out.append((path, "expects a bool, not %s" % _describe(value)))
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            out.append((path, "expects a number, not %s" % _describe(value)))
        elif isinstance(value, str) and _numeric_string(value) is None:
            out.append((path, "expects a number, not %s (not a numeric string either)" % _describe(value)))
        return
    if kind == "secret":
        if not isinstance(value, str):
            out.append((path, "expects a string (secret), not %s" % _describe(value)))
        return
    if kind in ("string", "duration"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            out.append((path, "expects a %s string, not %s" % (kind, _describe(value))))
            return
        text = value if isinstance(value, str) else _go_number_string(value)
        converted = "" if isinstance(value, str) else " (Alloy turns the number into the string %s)" % _q(text)
        if kind == "duration" and parse_duration(text) is None:
            out.append((path, "expects a duration like \"15s\", \"1m30s\", \"250ms\" (Go time.ParseDuration), not %s%s"
                        % (_describe(value), converted)))
            return
        if spec.get("format") == "bytes" and path == "" and parse_bytes(text) is None:
            out.append((path, "expects a byte size string like \"10MB\" or \"512KiB\" (units %s), not %s%s"
                        % ("/".join(_BYTES_UNITS), _describe(value), converted)))
            return
        enum = spec.get("enum")
        if enum and text not in enum and not (spec.get("_enum_nocase") and text.lower() in [e.lower() for e in enum]):
            out.append((path, "must be one of %s, not %s" % (", ".join(enum), _q(text))))
        return


# ----------------------------------------------------------------------------- views


class View(object):
    """A parsed block with its attributes evaluated: attrs {name: value}, anodes {name: Node},
    blocks {name: [View]}."""

    def __init__(self, node, spec_args, path):
        self.node = node
        self.path = path
        self.attrs, self.anodes, self.blocks = {}, {}, {}
        for child in node.body:
            if child.kind == "attr":
                if child.name in self.anodes:
                    continue
                self.anodes[child.name] = child
                try:
                    self.attrs[child.name] = evaluate(child.value)
                except AlloyError:
                    self.attrs[child.name] = DYNAMIC
            else:
                sub = (spec_args or {}).get(child.name) or {}
                self.blocks.setdefault(child.name, []).append(
                    View(child, sub.get("arguments"), "%s%s" % (path + "." if path else "", child.name)))

    def has(self, name):
        return name in self.attrs or name in self.blocks

    def get(self, name, default=None):
        """The literal value of an attribute; default when absent or not a literal."""
        value = self.attrs.get(name, default)
        return default if value is DYNAMIC or isinstance(value, Expr) else value

    def literal(self, name):
        return name in self.attrs and self.attrs[name] is not DYNAMIC and not isinstance(self.attrs[name], Expr)

    def block(self, name):
        found = self.blocks.get(name)
        return found[0] if found else None

    def where(self, name=None):
        node = self.anodes.get(name) or (self.blocks.get(name) or [None])[0] if name else None
        node = node.node if isinstance(node, View) else node
        return node or self.node

    def arg(self, name):
        return "%s.%s" % (self.path, name) if self.path else name


class _Ctx(object):
    def __init__(self, source):
        self.source = source
        self.errors = []

    def error(self, node, component, argument, message):
        where = "%s:%d:%d" % (self.source or "<config>", node.line, node.column)
        subject = component if argument is None else "%s: %s" % (component, argument)
        self.errors.append((node.line, node.column, "%s: %s: %s" % (where, subject, message)))


# ----------------------------------------------------------------------------- rules

RULES = []


def rule(components, text):
    """Register a rule function for components (names); `text` is the rule of the facts it implements."""

    def wrap(func):
        func.components = tuple(components)
        func.rule_text = text
        RULES.append(func)
        return func

    return wrap


def _num(view, name, spec_default=None):
    value = view.get(name, spec_default)
    if isinstance(value, str):
        value = _numeric_string(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _dur(view, name, default=None):
    value = view.get(name, default)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = _go_number_string(value)
    return parse_duration(value) if isinstance(value, str) else None


def _set(view, name):
    """True when the argument is given with a value other than its zero value (or is an expression)."""
    if name in view.blocks:
        return True
    if name not in view.attrs:
        return False
    value = view.attrs[name]
    return value is DYNAMIC or isinstance(value, Expr) or value not in (None, "", 0, False, [], {})


# -- prometheus.scrape ---------------------------------------------------------------------------------------


@rule(["prometheus.scrape"], "[Validate] scrape_timeout must not exceed scrape_interval (defaults 10s and 1m: "
                             "setting scrape_interval below 10s without lowering scrape_timeout fails).")
def scrape_timeout_within_interval(view, report):
    interval, timeout = _dur(view, "scrape_interval", "1m"), _dur(view, "scrape_timeout", "10s")
    if interval is None or timeout is None:
        return
    if timeout > interval:
        name = "scrape_timeout" if "scrape_timeout" in view.attrs else "scrape_interval"
        report(view.where(name), name, "scrape_timeout (%s) must not exceed scrape_interval (%s)%s" % (
            view.get("scrape_timeout", "10s (default)"), view.get("scrape_interval", "1m (default)"),
            "" if "scrape_timeout" in view.attrs else "; set scrape_timeout no longer than the interval"))


@rule(["prometheus.scrape"], "[Validate] scrape_protocols entries must be unique and each one of PrometheusProto, "
                             "PrometheusText0.0.4, PrometheusText1.0.0, OpenMetricsText0.0.1, OpenMetricsText1.0.0 "
                             "(same set for scrape_fallback_protocol when non-empty).")
def scrape_protocols_unique(view, report):
    protocols = view.get("scrape_protocols")
    if isinstance(protocols, list):
        seen = set()
        for item in protocols:
            if isinstance(item, str) and item in seen:
                report(view.where("scrape_protocols"), "scrape_protocols", "%s is listed twice" % _q(item))
            seen.add(item)


_DEFAULT_PROTOCOLS = ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"]


@rule(["prometheus.scrape"], "[Validate] enable_protobuf_negotiation = true cannot be combined with a non-default "
                             "scrape_protocols; it switches scrape_protocols to the proto-first list and sets "
                             "scrape_native_histograms = true.")
def scrape_protobuf_negotiation(view, report):
    protocols = view.get("scrape_protocols")
    if view.get("enable_protobuf_negotiation") is True and isinstance(protocols, list) \
            and protocols != _DEFAULT_PROTOCOLS:
        report(view.where("enable_protobuf_negotiation"), "enable_protobuf_negotiation",
               "cannot be combined with a non-default scrape_protocols")


@rule(["prometheus.scrape"], "[Validate] scrape_native_histograms = true with default scrape_protocols switches "
                             "them to the proto-first list; with custom scrape_protocols, PrometheusProto must be "
                             "in the list.")
def scrape_native_histograms_proto(view, report):
    protocols = view.get("scrape_protocols")
    if view.get("scrape_native_histograms") is True and isinstance(protocols, list) \
            and protocols != _DEFAULT_PROTOCOLS and "PrometheusProto" not in protocols:
        report(view.where("scrape_protocols"), "scrape_protocols",
               "must contain PrometheusProto when scrape_native_histograms = true")


@rule(["prometheus.scrape"], "[Validate] metric_name_escaping_scheme must be allow-utf-8, underscores, dots or values; "
                             "empty becomes underscores (legacy) or allow-utf-8 (utf8); allow-utf-8 requires "
                             "metric_name_validation_scheme = utf8.")
def scrape_escaping_scheme(view, report):
    if view.get("metric_name_escaping_scheme") == "allow-utf-8" \
            and view.get("metric_name_validation_scheme", "legacy") != "utf8":
        report(view.where("metric_name_escaping_scheme"), "metric_name_escaping_scheme",
               "allow-utf-8 requires metric_name_validation_scheme = \"utf8\"")


def _stability_flag(view, report, name, value_test, why):
    if name in view.attrs and value_test(view.get(name)):
        report(view.where(name), name, "%s requires --stability.level=experimental, which the stack does not set"
               % why)


@rule(["prometheus.scrape"], "[stability] honor_metadata = true and enable_type_and_unit_labels = true require "
                             "--stability.level=experimental ([build] error otherwise).")
def scrape_experimental_flags(view, report):
    for name in ("honor_metadata", "enable_type_and_unit_labels"):
        _stability_flag(view, report, name, lambda v: v is True, "%s = true" % name)


@rule(["otelcol.exporter.prometheus"], "[stability] convert_classic_histograms_to_nhcb = true requires "
                                       "--stability.level=experimental ([build] error otherwise).")
def exporter_prometheus_nhcb(view, report):
    _stability_flag(view, report, "convert_classic_histograms_to_nhcb", lambda v: v is True,
                    "convert_classic_histograms_to_nhcb = true")


@rule(["prometheus.remote_write"], "[stability] protobuf_message = \"io.prometheus.write.v2.Request\" requires "
                                   "--stability.level=experimental ([build]).")
def remote_write_v2(view, report):
    for endpoint in view.blocks.get("endpoint", []):
        _stability_flag(endpoint, report, "protobuf_message", lambda v: v == "io.prometheus.write.v2.Request",
                        "protobuf_message = \"io.prometheus.write.v2.Request\"")


# -- HTTP client settings (prometheus/common HTTPClientConfig) -------------------------------------------------

_AUTHS = ("basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file")


def _clients(component, view):
    """The views holding HTTP client settings in a component, and whether the client-level rules run there."""
    if component in ("prometheus.scrape", "discovery.docker"):
        return [(view, True)]
    if component in ("prometheus.remote_write", "loki.write"):
        return [(e, True) for e in view.blocks.get("endpoint", [])]
    if component == "loki.source.docker":
        return [(c, True) for c in view.blocks.get("http_client_config", [])]
    if component == "discovery.http":
        return [(view, False)]  # "the squashed HTTP client settings are not passed through HTTPClientConfig.Validate()"
    return []


_CLIENT_COMPONENTS = ["prometheus.scrape", "discovery.docker", "prometheus.remote_write", "loki.write",
                      "loki.source.docker"]


@rule(_CLIENT_COMPONENTS, "[Validate] At most one of basic_auth, authorization, oauth2, bearer_token, "
                          "bearer_token_file may be set.")
def client_one_auth(view, report, component=None):
    for client, full in _clients(component, view):
        given = [a for a in _AUTHS if _set(client, a)]
        if full and len(given) > 1:
            report(client.where(given[1]), client.arg(given[1]),
                   "at most one of %s may be set (found %s)" % (", ".join(_AUTHS), ", ".join(given)))


@rule(_CLIENT_COMPONENTS, "[Validate] proxy_connect_header requires proxy_url or proxy_from_environment.")
def client_proxy_connect_header(view, report, component=None):
    for client, full in _clients(component, view):
        if full and _set(client, "proxy_connect_header") and not (
                _set(client, "proxy_url") or _set(client, "proxy_from_environment")):
            report(client.where("proxy_connect_header"), client.arg("proxy_connect_header"),
                   "requires proxy_url or proxy_from_environment")


@rule(_CLIENT_COMPONENTS, "[Validate] proxy_from_environment = true must not be combined with proxy_url or no_proxy.")
def client_proxy_from_environment(view, report, component=None):
    for client, full in _clients(component, view):
        if full and client.get("proxy_from_environment") is True and (
                _set(client, "proxy_url") or _set(client, "no_proxy")):
            report(client.where("proxy_from_environment"), client.arg("proxy_from_environment"),
                   "must not be combined with proxy_url or no_proxy")


@rule(_CLIENT_COMPONENTS, "[Validate] no_proxy requires proxy_url.")
def client_no_proxy(view, report, component=None):
    for client, full in _clients(component, view):
        if full and _set(client, "no_proxy") and not _set(client, "proxy_url"):
            report(client.where("no_proxy"), client.arg("no_proxy"), "requires proxy_url")


_NESTED_CLIENT = _CLIENT_COMPONENTS + ["discovery.http"]


@rule(_NESTED_CLIENT, "[Validate] basic_auth: at most one of password and password_file.")
def basic_auth_one_password(view, report, component=None):
    for client, _where in _clients(component, view):
        for block in client.blocks.get("basic_auth", []):
            if _set(block, "password") and _set(block, "password_file"):
                report(block.where("password_file"), block.arg("password_file"),
                       "at most one of password and password_file may be set")


@rule(_NESTED_CLIENT, "[Validate] authorization: at most one of credentials and credentials_file; empty type "
                      "becomes \"Bearer\"; type \"basic\" (any case) is rejected, use basic_auth.")
def authorization_credentials(view, report, component=None):
    for client, _where in _clients(component, view):
        for block in client.blocks.get("authorization", []):
            if _set(block, "credentials") and _set(block, "credentials_file"):
                report(block.where("credentials_file"), block.arg("credentials_file"),
                       "at most one of credentials and credentials_file may be set")
            kind = block.get("type")
            if isinstance(kind, str) and kind.lower() == "basic":
                report(block.where("type"), block.arg("type"), "type \"basic\" is rejected: use a basic_auth block")


@rule(_NESTED_CLIENT, "[Validate] oauth2: client_id and token_url are required; exactly one of client_secret or "
                      "client_secret_file; same proxy_* rules as the parent client.")
def oauth2_fields(view, report, component=None):
    for client, _where in _clients(component, view):
        for block in client.blocks.get("oauth2", []):
            for name in ("client_id", "token_url"):
                if not _set(block, name):
                    report(block.where(), block.arg(name), "is required in oauth2")
            secrets = [n for n in ("client_secret", "client_secret_file") if _set(block, n)]
            if len(secrets) != 1:
                report(block.where(), block.arg("client_secret"),
                       "exactly one of client_secret or client_secret_file must be set")
            if _set(block, "no_proxy") and not _set(block, "proxy_url"):
                report(block.where("no_proxy"), block.arg("no_proxy"), "requires proxy_url")


_TLS_PAIRS = (("ca_pem", "ca_file"), ("cert_pem", "cert_file"), ("key_pem", "key_file"))


@rule(_NESTED_CLIENT, "[Validate] tls_config: at most one of ca_pem/ca_file, cert_pem/cert_file, key_pem/key_file; "
                      "a client certificate requires a client key and vice versa.")
def tls_config_pairs(view, report, component=None):
    for client, _where in _clients(component, view):
        tls_blocks = list(client.blocks.get("tls_config", []))
        for oauth in client.blocks.get("oauth2", []):
            tls_blocks += oauth.blocks.get("tls_config", [])
        for tls in tls_blocks:
            for pem, path in _TLS_PAIRS:
                if _set(tls, pem) and _set(tls, path):
                    report(tls.where(path), tls.arg(path), "at most one of %s and %s may be set" % (pem, path))
            has_cert = _set(tls, "cert_pem") or _set(tls, "cert_file")
            has_key = _set(tls, "key_pem") or _set(tls, "key_file")
            if has_cert != has_key:
                missing = "key_pem or key_file" if has_cert else "cert_pem or cert_file"
                report(tls.where(), tls.arg("cert_file" if has_key else "key_file"),
                       "a client certificate requires a client key and vice versa: add %s" % missing)


# -- prometheus.remote_write ----------------------------------------------------------------------------------


@rule(["prometheus.remote_write"], "[Validate] endpoint: at most one auth method among sigv4, azuread, google_iam and "
                                   "the HTTP client auth (basic_auth, authorization, oauth2, bearer_token, "
                                   "bearer_token_file).")
def remote_write_one_auth(view, report):
    for endpoint in view.blocks.get("endpoint", []):
        cloud = [n for n in ("sigv4", "azuread", "google_iam") if n in endpoint.blocks]
        http = [n for n in _AUTHS if _set(endpoint, n)]
        if cloud and len(cloud) + min(len(http), 1) > 1:
            report(endpoint.where(cloud[-1]), endpoint.arg(cloud[-1]),
                   "at most one auth method among sigv4, azuread, google_iam and the HTTP client auth (found %s)"
                   % ", ".join(cloud + http))


@rule(["prometheus.remote_write"], "[Validate] endpoint.sigv4: access_key and secret_key must be set together; "
                                   "external_id requires role_arn.")
def remote_write_sigv4(view, report):
    for endpoint in view.blocks.get("endpoint", []):
        for sig in endpoint.blocks.get("sigv4", []):
            if _set(sig, "access_key") != _set(sig, "secret_key"):
                report(sig.where(), sig.arg("secret_key"), "access_key and secret_key must be set together")
            if _set(sig, "external_id") and not _set(sig, "role_arn"):
                report(sig.where("external_id"), sig.arg("external_id"), "requires role_arn")


@rule(["prometheus.remote_write"], "[Validate] wal: truncate_frequency must not be 0; min_keepalive_time must be "
                                   "< max_keepalive_time.")
def remote_write_wal(view, report):
    for wal in view.blocks.get("wal", []):
        if "truncate_frequency" in wal.attrs and _dur(wal, "truncate_frequency") == 0:
            report(wal.where("truncate_frequency"), "wal.truncate_frequency", "must not be 0")
        low, high = _dur(wal, "min_keepalive_time", "5m"), _dur(wal, "max_keepalive_time", "8h")
        if low is not None and high is not None and low >= high:
            report(wal.where("min_keepalive_time"), "wal.min_keepalive_time", "must be < max_keepalive_time")


# -- relabel rules ----------------------------------------------------------------------------------------------


def _relabel_rules(component, view):
    if component in ("prometheus.relabel", "discovery.relabel", "loki.relabel"):
        return view.blocks.get("rule", [])
    if component == "prometheus.remote_write":
        return [r for e in view.blocks.get("endpoint", []) for r in e.blocks.get("write_relabel_config", [])]
    return []


_RELABEL = ["prometheus.relabel", "discovery.relabel", "loki.relabel", "prometheus.remote_write"]
_RELABEL_DEFAULTS = {"separator": ";", "regex": "(.*)", "modulus": 0, "replacement": "$1"}


@rule(_RELABEL, "[Validate] rule: action must not be empty (default \"replace\"); values: replace, keep, drop, "
                "hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase, keepequal, dropequal.")
def relabel_action_not_empty(view, report, component=None):
    for r in _relabel_rules(component, view):
        if r.get("action", "replace") == "":
            report(r.where("action"), r.arg("action"), "must not be empty")


@rule(_RELABEL, "[Validate] rule: hashmod requires modulus != 0 and a valid target_label.")
def relabel_hashmod(view, report, component=None):
    for r in _relabel_rules(component, view):
        if r.get("action") == "hashmod" and _num(r, "modulus", 0) == 0 and (
                r.literal("modulus") or "modulus" not in r.attrs):
            report(r.where("modulus"), r.arg("modulus"), "hashmod requires modulus != 0")


@rule(_RELABEL, "[Validate] rule: replace, hashmod, lowercase, uppercase, keepequal, dropequal require target_label; "
                "replace accepts $-templated target_label, the others need a valid label name.")
def relabel_target_label(view, report, component=None):
    for r in _relabel_rules(component, view):
        action = r.get("action", "replace")
        if action in ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal") \
                and not _set(r, "target_label"):
            report(r.where(), r.arg("target_label"), "action %s requires target_label" % action)
        elif action != "replace" and r.literal("target_label") and isinstance(r.get("target_label"), str) \
                and "$" in r.get("target_label"):
            report(r.where("target_label"), r.arg("target_label"),
                   "only replace accepts a $-templated target_label, not %s" % action)


@rule(_RELABEL, "[Validate] rule: lowercase, uppercase, keepequal, dropequal must not change replacement from \"$1\".")
def relabel_replacement_default(view, report, component=None):
    for r in _relabel_rules(component, view):
        if r.get("action") in ("lowercase", "uppercase", "keepequal", "dropequal") \
                and r.literal("replacement") and r.get("replacement") != "$1":
            report(r.where("replacement"), r.arg("replacement"),
                   "must stay \"$1\" with action %s" % r.get("action"))


@rule(_RELABEL, "[Validate] rule: labeldrop/labelkeep accept only regex (source_labels, target_label, modulus, "
                "separator, replacement must stay default).")
def relabel_labeldrop_only_regex(view, report, component=None):
    for r in _relabel_rules(component, view):
        if r.get("action") in ("labeldrop", "labelkeep"):
            for name in ("source_labels", "target_label", "modulus", "separator", "replacement"):
                if name in r.attrs and r.literal(name) and r.get(name) not in (
                        None, [], "", _RELABEL_DEFAULTS.get(name, "")):
                    report(r.where(name), r.arg(name), "%s accepts only regex" % r.get("action"))


@rule(_RELABEL, "[Validate] rule: keepequal/dropequal accept only source_labels and target_label (regex, modulus, "
                "separator, replacement must stay default).")
def relabel_keepequal_fields(view, report, component=None):
    for r in _relabel_rules(component, view):
        if r.get("action") in ("keepequal", "dropequal"):
            for name in ("regex", "modulus", "separator"):
                if name in r.attrs and r.literal(name) and r.get(name) != _RELABEL_DEFAULTS[name]:
                    report(r.where(name), r.arg(name),
                           "%s accepts only source_labels and target_label" % r.get("action"))


@rule(["prometheus.relabel"], "[Validate] max_cache_size and cache_ttl are mutually exclusive (set max_cache_size = "
                              "0 to use cache_ttl); one of them must be non-zero (default max_cache_size = 100000).")
def relabel_cache(view, report):
    size, ttl = _num(view, "max_cache_size", 100000), _dur(view, "cache_ttl", "0s")
    if size is None or ttl is None:
        return
    if size and ttl:
        report(view.where("cache_ttl"), "cache_ttl", "max_cache_size and cache_ttl are mutually exclusive")
    elif not size and not ttl:
        report(view.where("max_cache_size"), "max_cache_size", "one of max_cache_size and cache_ttl must be non-zero")


@rule(["prometheus.relabel"], "[Validate] cache_ttl, when set, must be at least 1m.")
def relabel_cache_ttl_min(view, report):
    ttl = _dur(view, "cache_ttl", "0s")
    if ttl and ttl < 60e9:
        report(view.where("cache_ttl"), "cache_ttl", "must be at least 1m")


# -- discovery -------------------------------------------------------------------------------------------------


def _bad_url(value):
    """A URL Go's url.Parse refuses (or an empty one): the cases a static check can see."""
    if not isinstance(value, str):
        return None
    if value == "":
        return "must not be empty"
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in value) or " " in value.split("?", 1)[0].split("://", 1)[0]:
        return "is not a URL (control character or space)"
    if value.startswith(":"):
        return "is not a URL (missing protocol scheme)"
    if re.search(r"%(?![0-9a-fA-F]{2})", value):
        return "is not a URL (invalid %-escape)"
    return None


@rule(["discovery.docker"], "[Validate] host must be non-empty and parse as a URL (e.g. unix:///var/run/docker.sock).")
def docker_host_url(view, report):
    problem = _bad_url(view.get("host"))
    if problem and view.literal("host"):
        report(view.where("host"), "host", problem)


@rule(["discovery.docker"], "[Validate] refresh_interval must be > 0.")
def docker_refresh_interval(view, report):
    if "refresh_interval" in view.attrs and (_dur(view, "refresh_interval") or 0) <= 0 and view.literal(
            "refresh_interval") and _dur(view, "refresh_interval") is not None:
        report(view.where("refresh_interval"), "refresh_interval", "must be > 0")


@rule(["discovery.dns"], "[Validate] port is required (non-zero) for A, AAAA, MX and NS lookups.")
def dns_port(view, report):
    if view.get("type", "SRV") in ("A", "AAAA", "MX", "NS") and not _set(view, "port"):
        report(view.where("type"), "port", "is required (non-zero) for %s lookups" % view.get("type"))


@rule(["loki.source.docker"], "[Validate] host must parse as a URL.")
def loki_docker_host(view, report):
    problem = _bad_url(view.get("host"))
    if problem and view.literal("host"):
        report(view.where("host"), "host", problem)


@rule(["loki.source.docker"], "[Validate] when http_client_config is set, refresh_interval must be > 0 and the HTTP "
                              "client rules apply.")
def loki_docker_refresh(view, report):
    if "http_client_config" in view.blocks and "refresh_interval" in view.attrs:
        value = _dur(view, "refresh_interval")
        if value is not None and value <= 0:
            report(view.where("refresh_interval"), "refresh_interval", "must be > 0 with http_client_config")


@rule(["loki.write"], "[Validate] endpoint.url must parse as a URL.")
def loki_write_url(view, report):
    for endpoint in view.blocks.get("endpoint", []):
        problem = _bad_url(endpoint.get("url"))
        if problem and endpoint.literal("url"):
            report(endpoint.where("url"), endpoint.arg("url"), problem)


@rule(["loki.write"], "[Validate] wal: min_read_frequency must be < max_read_frequency.")
def loki_write_wal(view, report):
    for wal in view.blocks.get("wal", []):
        low, high = _dur(wal, "min_read_frequency", "250ms"), _dur(wal, "max_read_frequency", "1s")
        if low is not None and high is not None and low >= high:
            report(wal.where("min_read_frequency"), "wal.min_read_frequency", "must be < max_read_frequency")


# -- otelcol ---------------------------------------------------------------------------------------------------


@rule(["otelcol.processor.batch"], "[Validate] send_batch_max_size must be >= send_batch_size unless "
                                   "send_batch_max_size is 0.")
def batch_sizes(view, report):
    size, most = _num(view, "send_batch_size", 2000), _num(view, "send_batch_max_size", 3000)
    if size is not None and most is not None and most != 0 and most < size:
        name = "send_batch_size" if "send_batch_size" in view.attrs else "send_batch_max_size"
        report(view.where(name), name, "send_batch_max_size (%s%s) must be >= send_batch_size (%s)%s" % (
            most, "" if "send_batch_max_size" in view.attrs else ", the default", size,
            "" if "send_batch_max_size" in view.attrs else "; set send_batch_max_size too"))


@rule(["otelcol.processor.memory_limiter"], "[Validate] check_interval is required and must be > 0.")
def memory_limiter_check_interval(view, report):
    value = _dur(view, "check_interval")
    if view.literal("check_interval") and value is not None and value <= 0:
        report(view.where("check_interval"), "check_interval", "must be > 0")


@rule(["otelcol.processor.memory_limiter"], "[Validate] set exactly one of limit or limit_percentage (> 0); setting "
                                            "both, or neither, is an error.")
def memory_limiter_one_limit(view, report):
    limit = view.get("limit", "0B")
    limit = parse_bytes(limit) if isinstance(limit, str) else None
    percent = _num(view, "limit_percentage", 0)
    has_limit = bool(limit) or (view.has("limit") and not view.literal("limit"))
    has_percent = bool(percent) or (view.has("limit_percentage") and not view.literal("limit_percentage"))
    if has_limit and has_percent:
        report(view.where("limit_percentage"), "limit_percentage", "set exactly one of limit or limit_percentage")
    elif not has_limit and not has_percent:
        report(view.where(), "limit", "set exactly one of limit or limit_percentage (> 0)")


@rule(["otelcol.processor.memory_limiter"], "[Validate] with limit: spike_limit must be < limit; spike_limit 0 is "
                                            "replaced by limit/5 (20%).")
def memory_limiter_spike_limit(view, report):
    limit, spike = view.get("limit"), view.get("spike_limit")
    limit = parse_bytes(limit) if isinstance(limit, str) else None
    spike = parse_bytes(spike) if isinstance(spike, str) else None
    if limit and spike and spike >= limit:
        report(view.where("spike_limit"), "spike_limit", "must be < limit")


@rule(["otelcol.processor.memory_limiter"], "[Validate] with limit_percentage: limit_percentage and "
                                            "spike_limit_percentage must both be in (0, 100] "
                                            "(spike_limit_percentage has no automatic default).")
def memory_limiter_percentages(view, report):
    percent = _num(view, "limit_percentage", 0)
    if not percent:
        return
    for name in ("limit_percentage", "spike_limit_percentage"):
        value = _num(view, name, 0)
        if value is None and not view.literal(name) and name in view.attrs:
            continue
        if value is None or not 0 < value <= 100:
            report(view.where(name), name, "must be in (0, 100] with limit_percentage%s" % (
                "" if name in view.attrs else " (it has no default: set it)"))


@rule(["otelcol.processor.attributes"], "[Validate] action: `action` is required; delete and hash need key or "
                                        "pattern; every other action needs key.")
def attributes_action(view, report):
    for act in view.blocks.get("action", []):
        verb = act.get("action")
        if verb in ("delete", "hash"):
            if not (_set(act, "key") or _set(act, "pattern")):
                report(act.where(), act.arg("key"), "action %s needs key or pattern" % verb)
        elif isinstance(verb, str) and not _set(act, "key"):
            report(act.where(), act.arg("key"), "action %s needs key" % verb)


_TRANSFORM_CONTEXTS = {"trace_statements": ("resource", "scope", "span", "spanevent"),
                       "metric_statements": ("resource", "scope", "metric", "datapoint"),
                       "log_statements": ("resource", "scope", "log")}


@rule(["otelcol.processor.transform"], "[upstream] Validate() converts the config and calls the upstream "
                                       "transformprocessor Config.Validate() (contrib v0.153.0): every OTTL "
                                       "statement/condition is parsed; parse errors or a context that does not fit "
                                       "the signal fail validation.")
def transform_context_fits_signal(view, report):
    for block, contexts in _TRANSFORM_CONTEXTS.items():
        for group in view.blocks.get(block, []):
            context = group.get("context")
            if isinstance(context, str) and context.lower() not in contexts:
                report(group.where("context"), group.arg("context"),
                       "context %s does not fit %s (use %s)" % (_q(context), block, ", ".join(contexts)))


@rule(["otelcol.processor.resourcedetection"], "[Validate] detectors must not be empty (default [\"env\"]).")
def resourcedetection_detectors(view, report):
    if view.get("detectors") == []:
        report(view.where("detectors"), "detectors", "must not be empty")


@rule(["otelcol.connector.spanmetrics"], "[Validate] histogram: exactly one of explicit {} or exponential {} must be "
                                         "present (an empty histogram {} fails).")
def spanmetrics_histogram(view, report):
    for hist in view.blocks.get("histogram", []):
        kinds = [k for k in ("explicit", "exponential") if k in hist.blocks]
        if len(kinds) != 1:
            report(hist.where(), "histogram", "exactly one of explicit {} or exponential {} must be present")


@rule(["otelcol.connector.spanmetrics"], "[Validate] histogram.exponential.max_size must be > 0.")
def spanmetrics_max_size(view, report):
    for hist in view.blocks.get("histogram", []):
        for exp in hist.blocks.get("exponential", []):
            value = _num(exp, "max_size", 160)
            if value is not None and value <= 0:
                report(exp.where("max_size"), "histogram.exponential.max_size", "must be > 0")


def _positive_durations(view, report, names, prefix=""):
    for name in names:
        if name in view.attrs:
            value = _dur(view, name)
            if value is not None and value <= 0:
                report(view.where(name), prefix + name, "must be > 0")


@rule(["otelcol.connector.spanmetrics"], "[Validate] metrics_flush_interval must be > 0.")
def spanmetrics_flush(view, report):
    _positive_durations(view, report, ["metrics_flush_interval"])


@rule(["otelcol.connector.spanmetrics"], "[Validate] aggregation_cardinality_limit must be >= 0.")
def spanmetrics_cardinality(view, report):
    value = _num(view, "aggregation_cardinality_limit", 0)
    if value is not None and value < 0:
        report(view.where("aggregation_cardinality_limit"), "aggregation_cardinality_limit", "must be >= 0")


@rule(["otelcol.connector.spanmetrics"], "[Validate] with DELTA temporality metric_timestamp_cache_size must be > 0.")
def spanmetrics_delta_cache(view, report):
    if view.get("aggregation_temporality") == "DELTA":
        value = _num(view, "metric_timestamp_cache_size", 1000)
        if value is not None and value <= 0:
            report(view.where("metric_timestamp_cache_size"), "metric_timestamp_cache_size",
                   "must be > 0 with DELTA temporality")


@rule(["otelcol.connector.servicegraph"], "[Validate] cache_loop, store_expiration_loop must be > 0.")
def servicegraph_loops(view, report):
    _positive_durations(view, report, ["cache_loop", "store_expiration_loop"])


@rule(["otelcol.connector.servicegraph"], "[Validate] store.max_items and store.ttl must be > 0.")
def servicegraph_store(view, report):
    for store in view.blocks.get("store", []):
        _positive_durations(store, report, ["ttl"], "store.")
        value = _num(store, "max_items")
        if "max_items" in store.attrs and value is not None and value <= 0:
            report(store.where("max_items"), "store.max_items", "must be > 0")


@rule(["otelcol.receiver.otlp"], "[Validate] when an http block is present, traces_url_path, metrics_url_path and "
                                 "logs_url_path must be non-empty and parse as URLs.")
def otlp_http_paths(view, report):
    for http in view.blocks.get("http", []):
        for name in ("traces_url_path", "metrics_url_path", "logs_url_path"):
            if name in http.attrs and http.literal(name):
                problem = _bad_url(http.get(name))
                if problem:
                    report(http.where(name), http.arg(name), problem)


@rule(["otelcol.receiver.jaeger"], "[Validate] at least one of protocols.grpc, protocols.thrift_http, "
                                   "protocols.thrift_binary, protocols.thrift_compact must be set.")
def jaeger_protocols(view, report):
    for protocols in view.blocks.get("protocols", []):
        if not any(p in protocols.blocks for p in ("grpc", "thrift_http", "thrift_binary", "thrift_compact")):
            report(protocols.where(), "protocols", "at least one of grpc, thrift_http, thrift_binary, "
                                                   "thrift_compact must be set")


def _exporter_queue_rules(view, report):
    for queue in view.blocks.get("sending_queue", []):
        size = _num(queue, "queue_size")
        if "queue_size" in queue.attrs and size is not None and size <= 0:
            report(queue.where("queue_size"), "sending_queue.queue_size", "must be > 0")


@rule(["otelcol.exporter.otlp"], "[Validate] sending_queue: queue_size must be > 0; sizer must be requests, items or "
                                 "bytes.")
def otlp_queue(view, report):
    _exporter_queue_rules(view, report)


@rule(["otelcol.exporter.otlphttp"], "[Validate] sending_queue: queue_size must be > 0; sizer must be requests, "
                                     "items or bytes.")
def otlphttp_queue(view, report):
    _exporter_queue_rules(view, report)


def _retry_rules(view, report):
    for retry in view.blocks.get("retry_on_failure", []):
        value = _num(retry, "multiplier")
        if "multiplier" in retry.attrs and value is not None and value <= 1.0:
            report(retry.where("multiplier"), "retry_on_failure.multiplier", "must be > 1.0")
        value = _num(retry, "randomization_factor")
        if "randomization_factor" in retry.attrs and value is not None and value < 0:
            report(retry.where("randomization_factor"), "retry_on_failure.randomization_factor", "must be >= 0")


@rule(["otelcol.exporter.otlp"], "[Validate] retry_on_failure: multiplier must be > 1.0; randomization_factor must "
                                 "be >= 0.")
def otlp_retry(view, report):
    _retry_rules(view, report)


@rule(["otelcol.exporter.otlphttp"], "[Validate] retry_on_failure: multiplier must be > 1.0; randomization_factor "
                                     "must be >= 0.")
def otlphttp_retry(view, report):
    _retry_rules(view, report)


@rule(["otelcol.exporter.otlphttp"], "[Validate] at least one of client.endpoint, traces_endpoint, metrics_endpoint, "
                                     "logs_endpoint must be non-empty.")
def otlphttp_endpoint(view, report):
    client = view.block("client")
    endpoints = [_set(view, n) for n in ("traces_endpoint", "metrics_endpoint", "logs_endpoint")]
    if client is not None and "endpoint" in client.attrs and not _set(client, "endpoint") and not any(endpoints):
        report(client.where("endpoint"), "client.endpoint", "at least one of client.endpoint, traces_endpoint, "
                                                            "metrics_endpoint, logs_endpoint must be non-empty")


@rule(["otelcol.exporter.prometheus"], "[Validate] gc_frequency must not be 0.")
def exporter_prometheus_gc(view, report):
    if "gc_frequency" in view.attrs and _dur(view, "gc_frequency") == 0:
        report(view.where("gc_frequency"), "gc_frequency", "must not be 0")


# -- loki.process stages ---------------------------------------------------------------------------------------


def _stages(view):
    """Every stage.* block, including those nested in stage.match, as (name, view)."""
    for name, blocks in view.blocks.items():
        if name.startswith("stage."):
            for block in blocks:
                yield name, block
                if name == "stage.match":
                    yield from _stages(block)


def _stage_rule(stage, check):
    def run(view, report):
        for name, block in _stages(view):
            if name == stage:
                check(block, report)
    return run


def _stage(stage, text):
    def wrap(check):
        return rule(["loki.process"], text)(_stage_rule(stage, check))
    return wrap


@_stage("stage.json", "[build] stage.json: expressions or regex is required; source, if set, must be non-empty; "
                      "JMESPath expressions must compile.")
def stage_json(block, report):
    if not (_set(block, "expressions") or _set(block, "regex")):
        report(block.where(), block.arg("expressions"), "expressions or regex is required")
    if block.literal("source") and block.get("source") == "":
        report(block.where("source"), block.arg("source"), "must be non-empty when set")


@_stage("stage.logfmt", "[build] stage.logfmt: mapping or regex is required.")
def stage_logfmt(block, report):
    if not (_set(block, "mapping") or _set(block, "regex")):
        report(block.where(), block.arg("mapping"), "mapping or regex is required")


@_stage("stage.regex", "[build] stage.regex: expression is required and must compile; source, if set, must be "
                       "non-empty.")
def stage_regex(block, report):
    if block.literal("source") and block.get("source") == "":
        report(block.where("source"), block.arg("source"), "must be non-empty when set")


def _null_values(block, report):
    values = block.get("values")
    if isinstance(values, dict):
        for key in values:
            if not LABEL_NAME_RE.match(key):
                report(block.where("values"), block.arg("values"), "%s is not a valid label name" % _q(key))


@_stage("stage.labels", "[build] stage.labels: values must not be null; label names must be valid; source_type empty "
                        "becomes extracted, and only extracted or structured_metadata are accepted.")
def stage_labels(block, report):
    _null_values(block, report)


@_stage("stage.structured_metadata", "[build] stage.structured_metadata: values must not be null; names must be "
                                     "valid label names.")
def stage_structured_metadata(block, report):
    _null_values(block, report)


@_stage("stage.static_labels", "[build] stage.static_labels: values must not be null; names and values must be "
                               "valid.")
def stage_static_labels(block, report):
    _null_values(block, report)
    values = block.get("values")
    if isinstance(values, dict):
        for key, value in values.items():
            if value is None or value == "":
                report(block.where("values"), block.arg("values"), "the value of %s must be set" % _q(key))


def _non_empty_values(block, report):
    if block.literal("values") and not block.get("values"):
        report(block.where("values"), block.arg("values"), "must be non-empty")


for _name in ("stage.label_drop", "stage.label_keep", "stage.structured_metadata_drop"):
    _stage(_name, "[build] stage.label_drop / stage.label_keep / stage.structured_metadata_drop: values must be "
                  "non-empty.")(_non_empty_values)


@_stage("stage.timestamp", "[build] stage.timestamp: source and format are required; location must be a valid time "
                           "zone; action_on_failure \"\" -> fudge, allowed skip|fudge; action_on_duplicate_timestamp "
                           "\"\" -> fudge, allowed keep|fudge.")
def stage_timestamp(block, report):
    for name, allowed in (("action_on_failure", ("", "skip", "fudge")),
                          ("action_on_duplicate_timestamp", ("", "keep", "fudge"))):
        if block.literal(name) and block.get(name) not in allowed:
            report(block.where(name), block.arg(name), "must be one of %s" % "|".join(a for a in allowed if a))


@_stage("stage.drop", "[build] stage.drop: needs at least one of source, expression, older_than, longer_than; value "
                      "and expression are mutually exclusive; value requires source; separator \"\" -> \";\"; "
                      "drop_counter_reason \"\" -> \"drop_stage\"; expressions must compile.")
def stage_drop(block, report):
    if not any(_set(block, n) for n in ("source", "expression", "older_than", "longer_than")):
        report(block.where(), block.arg("source"), "needs at least one of source, expression, older_than, longer_than")
    if _set(block, "value") and _set(block, "expression"):
        report(block.where("value"), block.arg("value"), "value and expression are mutually exclusive")
    if _set(block, "value") and not _set(block, "source"):
        report(block.where("value"), block.arg("value"), "value requires source")


@_stage("stage.match", "[build] stage.match: selector is required and must be a valid LogQL selector; action \"\" -> "
                       "keep, allowed keep|drop; keep requires at least one nested stage; drop must not contain "
                       "nested stages.")
def stage_match(block, report):
    action = block.get("action", "keep") or "keep"
    nested = [n for n in block.blocks if n.startswith("stage.")]
    if action == "keep" and not nested:
        report(block.where(), block.arg("action"), "keep requires at least one nested stage")
    elif action == "drop" and nested:
        report(block.where("action"), block.arg("action"), "drop must not contain nested stages")
    elif action not in ("keep", "drop"):
        report(block.where("action"), block.arg("action"), "must be keep or drop")


@_stage("stage.multiline", "[build] stage.multiline: firstline is required and must compile. [Validate] "
                           "max_wait_time must be > 0.")
def stage_multiline(block, report):
    _positive_durations(block, report, ["max_wait_time"], "stage.multiline.")


@_stage("stage.tenant", "[build] stage.tenant: exactly one of label, source, value must be set.")
def stage_tenant(block, report):
    if len([n for n in ("label", "source", "value") if _set(block, n)]) != 1:
        report(block.where(), block.arg("value"), "exactly one of label, source, value must be set")


@_stage("stage.limit", "[build] stage.limit: rate and burst must be > 0; by_label_name requires drop = true; with "
                       "by_label_name, max_distinct_labels below 10000 is raised to 10000.")
def stage_limit(block, report):
    for name in ("rate", "burst"):
        value = _num(block, name)
        if block.literal(name) and value is not None and value <= 0:
            report(block.where(name), block.arg(name), "must be > 0")
    if _set(block, "by_label_name") and block.get("drop") is not True:
        report(block.where("by_label_name"), block.arg("by_label_name"), "requires drop = true")


@_stage("stage.sampling", "[Validate] stage.sampling: rate must be between 0.0 and 1.0.")
def stage_sampling(block, report):
    value = _num(block, "rate")
    if block.literal("rate") and value is not None and not 0 <= value <= 1:
        report(block.where("rate"), block.arg("rate"), "must be between 0.0 and 1.0")


@_stage("stage.cri", "[Validate] stage.cri: max_partial_lines must be > 0.")
def stage_cri(block, report):
    value = _num(block, "max_partial_lines")
    if block.literal("max_partial_lines") and value is not None and value <= 0:
        report(block.where("max_partial_lines"), block.arg("max_partial_lines"), "must be > 0")


# -- case-insensitive enums (the generic enum check is case-sensitive) ------------------------------------------

CASE_INSENSITIVE_ENUMS = {
    ("otelcol.processor.transform", "trace_statements.context"): "[decode] context must be one of resource, scope, "
    "span, spanevent, metric, datapoint, log (case-insensitive, UnmarshalText).",
    ("otelcol.processor.transform", "metric_statements.context"): "[decode] context must be one of resource, scope, "
    "span, spanevent, metric, datapoint, log (case-insensitive, UnmarshalText).",
    ("otelcol.processor.transform", "log_statements.context"): "[decode] context must be one of resource, scope, "
    "span, spanevent, metric, datapoint, log (case-insensitive, UnmarshalText).",
    ("otelcol.exporter.debug", "verbosity"): "[build] verbosity must be basic, normal or detailed (case-insensitive); "
    "checked in Convert().",
}


# ----------------------------------------------------------------------------- the walk


def _suggest(name, known):
    close = [k for k in sorted(known) if k.startswith(name + "_") or k.startswith(name + ".")]
    close += [k for k in difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.7) if k not in close]
    return " (did you mean %s?)" % ", ".join(close[:4]) if close else ""


def _check_body(node, args, component, comp_args, path, ctx, who):
    attrs_seen, blocks_seen = {}, {}
    for child in node.body:
        name = child.name
        arg = "%s.%s" % (path, name) if path else name
        spec = args.get(name)
        if spec is None:
            what = "attribute" if child.kind == "attr" else "block"
            ctx.error(child, who, arg, "unknown %s for %s%s" % (what, component, _suggest(name, args)))
            continue
        is_block = "arguments" in spec
        if child.kind == "attr":
            if is_block:
                ctx.error(child, who, arg, "is a block, not an attribute: write `%s { ... }`" % name)
                continue
            if name in attrs_seen:
                first = attrs_seen[name]
                ctx.error(child, who, arg, "attribute set twice (first at %d:%d)" % (first.line, first.column))
                continue
            attrs_seen[name] = child
            try:
                value = evaluate(child.value)
            except AlloyError:
                value = DYNAMIC
            checked = spec
            if (component, arg) in CASE_INSENSITIVE_ENUMS:
                checked = dict(spec, _enum_nocase=True)
            for sub, message in check_value(value, checked):
                ctx.error(child, who, arg + sub, message)
            continue
        if not is_block:
            ctx.error(child, who, arg, "is an attribute, not a block: write `%s = ...`" % name)
            continue
        if child.label is not None:
            ctx.error(child, who, arg, "a nested block takes no label (found %s)" % _q(child.label))
        blocks_seen.setdefault(name, []).append(child)
        inner = spec
        if spec.get("recursive"):
            inner = _lookup(comp_args, spec["recursive"]) or spec
        _check_body(child, inner.get("arguments") or {}, component, comp_args, arg, ctx, who)
    for name, nodes in blocks_seen.items():
        if len(nodes) > 1 and not args[name].get("repeatable"):
            first = nodes[0]
            ctx.error(nodes[1], who, "%s.%s" % (path, name) if path else name,
                      "block may appear only once (first at %d:%d)" % (first.line, first.column))
    for name, spec in sorted(args.items()):
        if spec.get("required") and name not in attrs_seen and name not in blocks_seen:
            what = "block" if "arguments" in spec else "attribute"
            ctx.error(node, who, "%s.%s" % (path, name) if path else name, "missing required %s" % what)


def _lookup(comp_args, dotted_path):
    """The spec of a block by its path inside a component ('stage.match' names one block)."""
    spec = comp_args.get(dotted_path)
    return spec if spec and "arguments" in spec else None


def check(text_or_parsed, source=None, stability=GA, facts=None):
    """Contract errors of an Alloy config (text or a parsed :class:`alloy.Config`), sorted by position.

    `stability` is the --stability.level Alloy runs with (the stack runs the default, generally-available).
    A syntax error is returned as the only error.
    """
    components = facts if facts is not None else alloy_facts.COMPONENTS
    if isinstance(text_or_parsed, Config):
        config = text_or_parsed
        source = source or config.source
    else:
        try:
            config = parse(text_or_parsed, source)
        except AlloyError as exc:
            return [str(exc)]
    ctx = _Ctx(source)
    allowed = STABILITY_ORDER[STABILITY_ORDER.index(stability):] if stability in STABILITY_ORDER else (GA,)
    for node in config.body:
        if node.kind != "block":
            continue  # top-level attributes belong to modules (declare/argument), not to our configs
        facts_entry = components.get(node.name)
        who = node.name if node.label is None else '%s "%s"' % (node.name, node.label)
        if facts_entry is None:
            reason = alloy_facts.NOT_FOUND.get(node.name)
            ctx.error(node, who, None, "no such component in Alloy %s%s%s" % (
                alloy_facts.ALLOY_VERSION, " (%s)" % reason if reason else "",
                _suggest(node.name, components)))
            continue
        if facts_entry["kind"] == "component" and node.label is None:
            ctx.error(node, who, None, "a component block needs a label: %s \"name\" { ... }" % node.name)
        if facts_entry["kind"] != "component" and node.label is not None:
            ctx.error(node, who, None, "%s is a configuration block and takes no label" % node.name)
        if facts_entry["stability"] not in allowed:
            ctx.error(node, who, None, "is %s: Alloy loads it only with --stability.level=%s, and the stack runs at %s"
                      % (facts_entry["stability"], facts_entry["stability"], stability))
        _check_body(node, facts_entry["arguments"], node.name, facts_entry["arguments"], "", ctx, who)
        view = View(node, facts_entry["arguments"], "")

        def report(where, argument, message, _who=who):
            ctx.error(where, _who, argument, message)

        for func in RULES:
            if node.name in func.components:
                try:
                    if "component" in func.__code__.co_varnames[:func.__code__.co_argcount]:
                        func(view, report, component=node.name)
                    else:
                        func(view, report)
                except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a rule must never crash the check
                    ctx.error(node, who, None, "internal error in rule %s: %s" % (func.__name__, exc))
    return [message for _line, _column, message in sorted(ctx.errors, key=lambda e: (e[0], e[1]))]
