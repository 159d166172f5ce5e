"""Every key the tempo, loki and mimir roles write, checked against recorded upstream facts (issue 13, item 4).

backend_config_facts.yml lists, for the pinned version of each backend, every key path the role's configuration
template can write, its type, allowed values and the upstream source that proves it exists at that version, plus
keys the pinned version is known to reject. The templates are rendered with Ansible's templar (the
render_role_template fixture), with the defaults and with every option switched to its other setting, flattened
to key paths (a list item is "[]") and compared with the facts: a key not in the facts, a value of another type or
a rejected key fails. The versions in the facts must equal the roles' pinned image tags, so a bump forces a
re-check of the facts.
"""

import re
from pathlib import Path

import pytest
import yaml

FACTS_FILE = Path(__file__).with_name("backend_config_facts.yml")
ROLES = ("tempo", "loki", "mimir")
TYPES = ("map", "list", "string", "bool", "int", "float", "duration", "prom_duration", "date", "host_port")

# Every switch of the roles' argument specs set away from its default (lgtm_<role>_extra_config excepted: it is
# the user's own upstream keys, outside what the collection writes).
S3 = {"endpoint": "s3.internal:9000", "region": "eu-west-1", "insecure": True, "path_style": True,
      "credentials_file": "/etc/lgtm/s3.credentials", "buckets": {"tempo": "traces", "loki": "logs", "mimir": "metrics"}}
ALL_OPTIONS = {
    "tempo": dict(lgtm_tempo_http_port=3300, lgtm_tempo_retention="720h", lgtm_service_names={"mimir": "metrics"},
                  lgtm_tempo_remote_write_url="http://metrics:9009/api/v1/push",
                  lgtm_tempo_generator_processors=["service-graphs", "span-metrics"],
                  lgtm_tempo_generator_external_labels={"source": "tempo", "cluster": "dev", "env": "local"},
                  lgtm_tempo_object_storage=S3),
    "loki": dict(lgtm_loki_http_port=3101, lgtm_loki_retention_period="0s", lgtm_loki_schema_from="2026-01-01",
                 lgtm_loki_otlp_index_labels=["service.name"], lgtm_loki_ingestion_rate_mb=4,
                 lgtm_loki_ingestion_burst_size_mb=8, lgtm_loki_object_storage=S3),
    "mimir": dict(lgtm_mimir_http_port=8080, lgtm_mimir_retention_period="30d",
                  lgtm_mimir_max_global_exemplars_per_user=0, lgtm_mimir_native_histograms=False,
                  lgtm_mimir_ingestion_rate=1000, lgtm_mimir_ingestion_burst_size=2000,
                  lgtm_mimir_max_global_series_per_user=0, lgtm_mimir_out_of_order_time_window="1h",
                  lgtm_mimir_object_storage=S3),
}

# Switches that exclude one of ALL_OPTIONS' settings (carried rule files keep Mimir's rule storage local, so the
# object storage's ruler prefix is not written with them).
MORE_OPTIONS = {
    "tempo": [], "loki": [],
    "mimir": [dict(lgtm_mimir_object_storage=S3, lgtm_mimir_alertmanager_url="http://alertmanager:9093",
                   lgtm_mimir_rule_files=[{"host_path": "/srv/shop/prometheus/rules.yml", "name": "rules"}])],
}

GO_DURATION = re.compile(r"^(0|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
PROM_DURATION = re.compile(r"^(0|(\d+(ms|s|m|h|d|w|y))+)$")


def load_facts():
    return yaml.safe_load(FACTS_FILE.read_text())


def render(render_role_template, role, **overrides):
    text, resolved = render_role_template(role, "%s.yaml.j2" % role, lgtm_project_dir="/srv/shop", **overrides)
    return yaml.safe_load(text), resolved


def flatten(document, free_form=(), prefix=""):
    """(path, value) for every key and list item; the children of a free-form map are not descended into."""
    items = document.items() if isinstance(document, dict) else []
    for key, value in items:
        path = "%s.%s" % (prefix, key) if prefix else str(key)
        yield path, value
        yield from _children(path, value, free_form)


def _children(path, value, free_form):
    if path in free_form:
        return
    if isinstance(value, dict):
        yield from flatten(value, free_form, path)
    elif isinstance(value, list):
        for item in value:
            yield path + "[]", item
            yield from _children(path + "[]", item, free_form)


def type_ok(kind, value):
    if kind == "map":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False  # every remaining kind is written as a YAML string
    if kind == "duration":
        return bool(GO_DURATION.match(value))
    if kind == "prom_duration":
        return bool(PROM_DURATION.match(value))
    if kind == "date":
        return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", value))
    if kind == "host_port":
        return bool(re.match(r"^[^:\s]*:\d{1,5}$", value))
    return kind == "string"


def problems(document, facts):
    """What in a rendered document the facts do not allow (empty when it conforms)."""
    keys = facts["keys"]
    free_form = {path for path, fact in keys.items() if fact.get("free_form")}
    found = []
    for path, value in flatten(document, free_form):
        fact = keys.get(path)
        if fact is None:
            found.append("%s: not in the recorded upstream keys" % path)
            continue
        if not type_ok(fact["type"], value):
            found.append("%s: %r is not a %s" % (path, value, fact["type"]))
        if "allowed" in fact and value not in fact["allowed"]:
            found.append("%s: %r not in %s" % (path, value, fact["allowed"]))
        if path in free_form:
            for label, item in value.items():
                if not type_ok(fact["values"], item):
                    found.append("%s.%s: %r is not a %s" % (path, label, item, fact["values"]))
    paths = {path for path, _ in flatten(document)}
    for rejected in facts["rejected"]:
        if rejected["path"] in paths:
            found.append("%s: rejected by the pinned version (%s)" % (rejected["path"], rejected["why"]))
    return found


def test_facts_file_is_complete():
    facts = load_facts()
    assert set(facts) == set(ROLES)
    for role in ROLES:
        assert facts[role]["image"] == "grafana/%s" % role
        for path, fact in facts[role]["keys"].items():
            assert fact["type"] in TYPES, (role, path)
            assert fact.get("src"), "%s %s: no upstream source" % (role, path)
            parent = path.rsplit(".", 1)[0] if "." in path else None
            if path.endswith("[]"):
                assert facts[role]["keys"][path[:-2]]["type"] == "list", (role, path)
            elif parent:
                assert parent in facts[role]["keys"], "%s %s: parent %s not recorded" % (role, path, parent)
        for rejected in facts[role]["rejected"]:
            assert rejected["path"] not in facts[role]["keys"], (role, rejected["path"])
            assert rejected.get("why") and rejected.get("evidence"), (role, rejected["path"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("options", ["defaults", "all-options", "more-options"])
def test_rendered_config_uses_only_recorded_upstream_keys(render_role_template, role, options):
    overrides = {"defaults": {}, "all-options": ALL_OPTIONS[role]}.get(options)
    if overrides is None:
        overrides = MORE_OPTIONS[role][0] if MORE_OPTIONS[role] else {}
    document, _ = render(render_role_template, role, **overrides)
    facts = load_facts()[role]
    assert problems(document, facts) == []
    if options == "all-options":
        # The switches really reached the document (else this would only re-test the defaults).
        flat = dict(flatten(document))
        changed = {"tempo": ("backend_worker.compaction.block_retention", "720h"),
                   "loki": ("limits_config.retention_period", "0s"),
                   "mimir": ("limits.native_histograms_ingestion_enabled", False)}[role]
        assert flat[changed[0]] == changed[1]


@pytest.mark.parametrize("role", ROLES)
def test_facts_cover_only_what_the_templates_write(render_role_template, role):
    """A key dropped from a template leaves a stale fact: keep the facts equal to what is written."""
    written = set()
    facts = load_facts()[role]
    free_form = {path for path, fact in facts["keys"].items() if fact.get("free_form")}
    for overrides in [{}, ALL_OPTIONS[role]] + MORE_OPTIONS[role]:
        document, _ = render(render_role_template, role, **overrides)
        written |= {path for path, _ in flatten(document, free_form)}
    assert set(facts["keys"]) == written


@pytest.mark.parametrize("role", ROLES)
def test_facts_versions_are_the_pinned_image_tags(render_role_template, role):
    """Raising a pinned image makes this fail until the facts are re-checked for the new version."""
    _, resolved = render(render_role_template, role)
    image, _, tag = resolved["lgtm_%s_image" % role].rpartition(":")
    facts = load_facts()[role]
    assert (image, tag) == (facts["image"], facts["version"])


def test_an_unknown_key_a_wrong_type_and_a_rejected_key_are_caught(render_role_template):
    document, _ = render(render_role_template, "tempo")
    facts = load_facts()["tempo"]
    assert problems(document, facts) == []
    document["query_frontend"] = {"search": {"duration_slo": "5s"}}       # real upstream key, but not recorded
    document["ingester"] = {"trace_idle_period": "10s"}                  # Tempo 3 rejects it
    document["backend_worker"]["compaction"]["block_retention"] = "7d"   # Go durations have no "d"
    document["stream_over_http_enabled"] = "true"                        # a string, not a bool
    document["overrides"]["defaults"]["metrics_generator"]["processors"].append("local-blocks")
    document["metrics_generator"]["storage"]["remote_write"][0]["headers"] = {"X-Scope-OrgID": "a"}
    found = "\n".join(problems(document, facts))
    for expected in ("query_frontend: not in the recorded",
                     "query_frontend.search.duration_slo: not in the recorded",
                     "ingester: rejected by the pinned version",
                     "backend_worker.compaction.block_retention: '7d' is not a duration",
                     "stream_over_http_enabled: 'true' is not a bool",
                     "processors[]: 'local-blocks' not in",
                     "remote_write[].headers: not in the recorded"):
        assert expected in found, expected


def test_free_form_values_and_list_items_are_checked():
    facts = {"keys": {"labels": {"type": "map", "free_form": True, "values": "string", "src": "x"},
                      "items": {"type": "list", "src": "x"},
                      "items[]": {"type": "map", "src": "x"},
                      "items[].name": {"type": "string", "src": "x"}},
             "rejected": [{"path": "items[].old", "why": "gone", "evidence": "x"}]}
    assert problems({"labels": {"any": "a"}, "items": [{"name": "n"}]}, facts) == []
    found = problems({"labels": {"any": 1}, "items": [{"name": "n", "old": 1}]}, facts)
    assert "labels.any: 1 is not a string" in found
    assert "items[].old: not in the recorded upstream keys" in found
    assert any(p.startswith("items[].old: rejected") for p in found)
