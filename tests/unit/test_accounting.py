"""The accounting: every artifact of every fixture's legacy inputs has a fate in the inventory.

The artifacts are enumerated here FROM THE INPUT FILES (compose files, the configs they mount, Grafana provisioning,
dashboards), with yaml/json and small path logic, never through legacy.py: a gap in the analysis shows up as an
artifact the inventory does not name.
"""

import json
import os
import re

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.module_utils import findings
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.inventory import FATES, PROPOSED, inventory, query_name
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan

from .conftest import EXAMPLE, PROJECTS

# Finding codes the inventory uses that the registry does not hold yet (plugins/module_utils/findings.py).
# Once one is registered, this test fails: remove it from here (and from inventory.PROPOSED).
PROPOSED_CODES = {}
# Configs a fixture's image bakes in (Dockerfile COPY), where this enumeration finds them (the analysis reads
# the Dockerfile itself). {fixture: {component: relative path}}
BAKED = {"name-clash": {"prometheus": "prometheus/prometheus.yml"}}

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
FIXTURES = sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()) + ["example"]


def _dir(name):
    return str(EXAMPLE if name == "example" else PROJECTS / name)


# --------------------------------------------------------------------------- compose, read directly


def _compose(project):
    """(services, top-level volumes, top-level configs) of the project's compose file and its override."""
    base = next(n for n in COMPOSE_NAMES if os.path.isfile(os.path.join(project, n)))
    stem, ext = os.path.splitext(base)
    files = [base] + [n for n in ("%s.override%s" % (stem, ext),) if os.path.isfile(os.path.join(project, n))]
    services, volumes, configs = {}, {}, {}
    for name in files:
        with open(os.path.join(project, name)) as handle:
            doc = yaml.safe_load(handle) or {}
        volumes.update(doc.get("volumes") or {})
        configs.update(doc.get("configs") or {})
        for svc_name, svc in (doc.get("services") or {}).items():
            merged = services.setdefault(svc_name, {})
            for key, value in (svc or {}).items():
                if key == "volumes":
                    by_target = dict((_mount(project, v)[1], v) for v in merged.get("volumes") or [])
                    by_target.update((_mount(project, v)[1], v) for v in value)
                    merged["volumes"] = list(by_target.values())
                elif key == "environment":
                    merged["environment"] = dict(_env(merged.get("environment")), **_env(value))
                else:
                    merged[key] = value
    return services, volumes, configs


def _env(value):
    if isinstance(value, dict):
        return dict((k, "" if v is None else str(v)) for k, v in value.items())
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in value or [])


def _mount(project, volume):
    """(host source or None for a named volume, container target) of one `volumes:` entry."""
    if isinstance(volume, dict):
        source, target = volume.get("source"), volume.get("target")
        bind = volume.get("type") == "bind"
    else:
        parts = str(volume).split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
        bind = bool(source) and source.startswith((".", "/", "~"))
    target = target.rstrip("/") or "/"
    if not bind:
        return None, target
    return os.path.normpath(os.path.join(project, os.path.expanduser(source))), target


def _binds(project, svc):
    return [m for m in (_mount(project, v) for v in svc.get("volumes") or []) if m[0]]


def _host(project, svc, configs, container_path):
    """Where a container path of a service comes from: a bind mount (deepest first) or a compose config."""
    for entry in svc.get("configs") or []:
        entry = {"source": entry} if isinstance(entry, str) else entry
        if (entry.get("target") or "/" + entry["source"]) == container_path:
            config = configs[entry["source"]]
            if "content" in config:
                return ("content", config["content"])
            return ("file", os.path.join(project, config["file"]))
    for source, target in sorted(_binds(project, svc), key=lambda m: len(m[1]), reverse=True):
        if container_path == target or container_path.startswith(target + "/"):
            return ("file", source + container_path[len(target):])
    return None


def _read(where):
    if where is None:
        return None
    kind, value = where
    if kind == "content":
        return yaml.safe_load(value)
    if not os.path.isfile(value):
        return None
    with open(value) as handle:
        return json.load(handle) if value.endswith(".json") else yaml.safe_load(handle)


def _flag(svc, *names):
    command = svc.get("command") or []
    if isinstance(command, str):
        command = command.split()
    for arg in command:
        for name in names:
            match = re.match(r"^--?%s=(.*)$" % re.escape(name), str(arg))
            if match:
                return match.group(1)
    return None


def _by_image(services, pattern):
    return [(n, s) for n, s in sorted(services.items()) if re.search(pattern, str(s.get("image") or ""))]


# --------------------------------------------------------------------------- the enumeration


def enumerate_artifacts(name):
    project = _dir(name)
    services, volumes, configs = _compose(project)
    found = [("service", s) for s in services] + [("volume", v) for v in volumes]
    for svc_name, svc in sorted(services.items()):
        found += [("bind_mount", "%s:%s" % (svc_name, target)) for _source, target in _binds(project, svc)]
        if re.search(r"(^|/)alertmanager(:|@|$)", str(svc.get("image") or "")):
            found.append(("alerting", "service %s" % svc_name))
    baked = BAKED.get(name) or {}
    for _svc_name, svc in _by_image(services, r"(^|/)prom/prometheus(:|$)") or [
            (n, s) for n, s in services.items() if "prometheus" in baked and n == "prometheus"]:
        path = _flag(svc, "config.file") or "/etc/prometheus/prometheus.yml"
        where = ("file", os.path.join(project, baked["prometheus"])) if "prometheus" in baked else \
            _host(project, svc, configs, path)
        doc = _read(where) or {}
        found += [("scrape_job", j["job_name"]) for j in doc.get("scrape_configs") or []]
        for rule_path in doc.get("rule_files") or []:
            rules = _read(_host(project, svc, configs, rule_path)) or {}
            found += [("rule_group", g["name"]) for g in rules.get("groups") or []]
        found += [("alerting", "alertmanagers[%d]" % i)
                  for i, _am in enumerate((doc.get("alerting") or {}).get("alertmanagers") or [])]
    for _svc_name, svc in _by_image(services, r"(^|/)grafana/grafana"):
        env = _env(svc.get("environment"))
        found += [("grafana_setting", k) for k in sorted(env) if k.startswith("GF_")]
        provisioning = env.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning").rstrip("/")
        for doc in _provisioning(project, svc, configs, provisioning + "/datasources"):
            for ds in doc.get("datasources") or []:
                found.append(("datasource", ds["name"]))
                found += [("derived_field", "%s/%s" % (ds["name"], f["name"]))
                          for f in (ds.get("jsonData") or {}).get("derivedFields") or []]
        for doc in _provisioning(project, svc, configs, provisioning + "/dashboards"):
            for provider in doc.get("providers") or []:
                where = _host(project, svc, configs, provider["options"]["path"].rstrip("/"))
                for path in _json_files(where[1] if where else None):
                    with open(path) as handle:
                        dash = json.load(handle)
                    dash = dash.get("dashboard", dash)
                    found.append(("dashboard", dash["title"]))
                    found += [("panel_query", query_name(dash["title"], panel.get("title") or panel.get("id"),
                                                         target.get("refId")))
                              for panel in _panels(dash) for target in panel.get("targets") or []]
    for svc_name, svc in _by_image(services, r"opentelemetry-collector"):
        doc = _collector_config(project, svc, configs)
        for section in ("receivers", "processors", "exporters", "connectors", "extensions"):
            found += [("collector_component", "%s %s" % (section[:-1], c)) for c in doc.get(section) or {}]
        found += [("collector_pipeline", p) for p in ((doc.get("service") or {}).get("pipelines") or {})]
    for _svc_name, svc in _by_image(services, r"(^|/)grafana/promtail"):
        doc = _read(_host(project, svc, configs, _flag(svc, "config.file") or "/etc/promtail/config.yml")) or {}
        for job in doc.get("scrape_configs") or []:
            found.append(("promtail_job", job["job_name"]))
            found += [("promtail_label", "%s/%s" % (job["job_name"], label)) for label in _promtail_labels(job)]
    return found


def _provisioning(project, svc, configs, container_dir):
    where = _host(project, svc, configs, container_dir)
    docs = []
    if where and os.path.isdir(where[1]):
        docs = [_read(("file", p)) for p in sorted(_files(where[1], (".yaml", ".yml")))]
    for source, target in _binds(project, svc):  # single files mounted into the directory
        if os.path.dirname(target) == container_dir and os.path.isfile(source):
            docs.append(_read(("file", source)))
    return [d for d in docs if isinstance(d, dict)]


def _files(directory, suffixes):
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if name.endswith(suffixes):
                yield os.path.join(root, name)


def _json_files(directory):
    return sorted(_files(directory, (".json",))) if directory and os.path.isdir(directory) else []


def _panels(dash):
    out = []

    def walk(panels):
        for panel in panels or []:
            out.append(panel)
            walk(panel.get("panels"))

    walk(dash.get("panels"))
    for row in dash.get("rows") or []:
        walk(row.get("panels"))
    return out


def _collector_config(project, svc, configs):
    """The collector's config sources merged (files, env:VAR, yaml:a::b: value), as --config lists them."""
    merged = {}
    sources = []
    command = svc.get("command") or ["--config=/etc/otelcol-contrib/config.yaml"]
    for arg in command if isinstance(command, list) else command.split():
        match = re.match(r"^--config=(.*)$", str(arg))
        if match:
            sources.append(match.group(1))
    env = _env(svc.get("environment"))
    for source in sources:
        if source.startswith("env:"):
            doc = yaml.safe_load(env.get(source[4:], "").replace("$$", "$")) or {}
        elif source.startswith("yaml:"):
            path, _sep, value = source[5:].partition(": ")
            doc = {}
            node = doc
            keys = path.split("::")
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = yaml.safe_load(value)
        else:
            doc = _read(_host(project, svc, configs, source[5:] if source.startswith("file:") else source)) or {}
        _merge(merged, doc)
    return merged


def _merge(into, doc):
    for key, value in (doc or {}).items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _promtail_labels(job):
    """Labels a Promtail job makes: static labels, relabel targets, `labels`/`static_labels` stages, docker/cri."""
    labels = []
    for static in job.get("static_configs") or []:
        labels += [k for k in (static.get("labels") or {}) if not k.startswith("__")]
    for rule in job.get("relabel_configs") or []:
        if str(rule.get("action") or "replace") == "replace" and rule.get("target_label") \
                and not rule["target_label"].startswith("__"):
            labels.append(rule["target_label"])

    def stages(items):
        for stage in items or []:
            for name, body in stage.items():
                if name in ("labels", "static_labels"):
                    labels.extend(body or {})
                elif name in ("docker", "cri"):
                    labels.append("stream")
                elif name == "match":
                    stages((body or {}).get("stages"))

    stages(job.get("pipeline_stages"))
    return labels


# --------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def inventories():
    cache = {}

    def get(name):
        if name not in cache:
            legacy = L.analyse_project(_dir(name))
            cache[name] = inventory(legacy, build_plan(legacy))
        return cache[name]

    return get


def _params():
    out = []
    for name in FIXTURES:
        out.append(pytest.param(name, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_every_artifact_of_the_inputs_has_a_fate(name, inventories):
    entries = inventories(name)
    accounted = set((e["kind"], e["name"]) for e in entries if e["fate"] in FATES)
    missing = [a for a in enumerate_artifacts(name) if a not in accounted]
    assert not missing, "artifacts of %s without a fate: %s" % (name, missing)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_drop_names_a_finding_that_exists(name, inventories):
    for entry in inventories(name):
        assert entry["fate"] in FATES, entry
        if entry["fate"] == "dropped":
            assert entry["finding"], "dropped without a finding: %s" % entry
        if entry["finding"]:
            assert entry["finding"] in findings.REGISTRY or entry["finding"] in PROPOSED_CODES, entry


def test_the_enumeration_is_not_empty():
    """The enumeration itself reads what the fixtures hold (a broken reader would make the test above vacuous)."""
    kinds = set(kind for name in FIXTURES for kind, _name in enumerate_artifacts(name))
    assert kinds >= {"service", "volume", "bind_mount", "scrape_job", "rule_group", "datasource", "derived_field",
                     "dashboard", "panel_query", "collector_component", "collector_pipeline", "promtail_job",
                     "promtail_label", "grafana_setting"}
    example = enumerate_artifacts("example")
    assert ("rule_group", "shop") in example and ("promtail_label", "docker/level") in example
    multi = enumerate_artifacts("otel-multi-config")
    assert ("collector_component", "processor attributes/tenant") in multi  # from the override's extra file
    assert ("collector_component", "extension health_check") in multi


@pytest.mark.parametrize("code", sorted(PROPOSED_CODES))
def test_proposed_codes_are_not_registered_yet(code):
    assert code not in findings.REGISTRY, "%s is registered now: drop it from PROPOSED_CODES and inventory.PROPOSED" \
        % code
    assert code in PROPOSED
