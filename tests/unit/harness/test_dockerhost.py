"""Unit tests for the Docker-host harness (tests/harness/dockerhost.py)."""

import json
import os
import stat

import pytest

from tests.harness import dockerhost as dh


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Docker Compose version v2.26.1", (2, 26, 1)),
        ("2.26.1-4", (2, 26, 1)),
        ("2.29.7-desktop.1", (2, 29, 7)),
        ("v2.20", (2, 20, 0)),
        ("docker-compose version 1.29.2, build unknown", (1, 29, 2)),
        ("", None),
        ("no version here", None),
    ],
)
def test_parse_version(text, expected):
    assert dh.parse_version(text) == expected


@pytest.mark.parametrize(
    ("found", "ok"),
    [((2, 20, 0), True), ((2, 26, 1), True), ((3, 0, 0), True), ((2, 19, 9), False), ((1, 29, 2), False), (None, False)],
)
def test_version_at_least(found, ok):
    assert dh.version_at_least(found, dh.MIN_COMPOSE) is ok


def test_ensure_compose_does_nothing_when_recent_enough(monkeypatch):
    monkeypatch.setattr(dh, "compose_version", lambda: (2, 26, 1))

    def forbidden(*_args, **_kwargs):
        raise AssertionError("must not download anything")

    monkeypatch.setattr(dh, "fetch_compose_plugin", forbidden)
    assert dh.ensure_compose() == "present 2.26.1"


def test_ensure_compose_reports_every_suite_that_failed(monkeypatch):
    monkeypatch.setattr(dh, "compose_version", lambda: (1, 29, 2))

    def fail(suite, work, mirror):
        raise dh.HarnessError(f"no network for {suite}")

    monkeypatch.setattr(dh, "fetch_compose_plugin", fail)
    with pytest.raises(dh.HarnessError) as err:
        dh.ensure_compose()
    assert "trixie: no network for trixie" in str(err.value)
    assert "sid: no network for sid" in str(err.value)


def test_private_apt_options_stay_inside_their_root(tmp_path):
    opts = dh.private_apt_options(tmp_path, "trixie", "http://mirror.example/debian")
    values = [opts[i + 1] for i in range(0, len(opts), 2)]
    paths = [v.split("=", 1)[1] for v in values if v.startswith("Dir::")]
    assert paths and all(p.startswith(str(tmp_path)) for p in paths)
    assert (tmp_path / "sources.list").read_text() == (
        f"deb [signed-by={dh.DEBIAN_KEYRING}] http://mirror.example/debian trixie main\n"
    )
    assert (tmp_path / "lists" / "partial").is_dir()


def test_context_hash_tracks_content_mode_and_extra(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    script = tmp_path / "entrypoint.sh"
    script.write_text("#!/bin/sh\n")
    first = dh.context_hash(tmp_path, "base-1")
    assert dh.context_hash(tmp_path, "base-1") == first
    assert dh.context_hash(tmp_path, "base-2") != first
    script.chmod(0o755)
    after_mode = dh.context_hash(tmp_path, "base-1")
    assert after_mode != first
    script.write_text("#!/bin/sh\necho changed\n")
    assert dh.context_hash(tmp_path, "base-1") != after_mode


def _catalog(tmp_path, images):
    path = tmp_path / "images.json"
    path.write_text(json.dumps({"base": {"local": "lgtm-test/base:1"}, "images": images}))
    return path


def test_real_catalog_is_valid_and_pinned():
    catalog = dh.load_catalog()
    for name, spec in catalog["images"].items():
        for ref in (spec["local"], spec.get("upstream", spec["local"])):
            assert not ref.endswith(":latest"), name
        if spec["kind"] == "standin" and name != "standin_base":
            assert spec["local"].startswith("lgtm-test/standin/"), name
            assert "upstream" in spec, f"{name}: a stand-in needs the real image a pulling machine uses"
        if "context" in spec:
            assert (dh.CONTEXTS_DIR / spec["context"] / "Dockerfile").is_file(), name


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "real", "context": "x", "local": "lgtm-test/x"}, "pinned tag"),
        ({"kind": "real", "context": "x", "local": "lgtm-test/x:latest"}, "pinned tag"),
        ({"kind": "real", "context": "x", "local": "lgtm-test/x:1", "upstream": "x:latest"}, "pinned tag"),
        ({"kind": "fake", "context": "x", "local": "lgtm-test/x:1"}, "unknown kind"),
        ({"kind": "real", "local": "lgtm-test/x:1"}, "exactly one of"),
        ({"kind": "real", "context": "x"}, "lacks 'local'"),
    ],
)
def test_load_catalog_rejects_bad_entries(tmp_path, spec, message):
    with pytest.raises(dh.HarnessError) as err:
        dh.load_catalog(_catalog(tmp_path, {"bad": spec}))
    assert message in str(err.value)
    assert "images.json" in str(err.value) and "'bad'" in str(err.value)


def test_registry_with_port_is_not_mistaken_for_a_tag(tmp_path):
    path = _catalog(tmp_path, {"x": {"kind": "real", "context": "x", "local": "registry.local:5000/x"}})
    with pytest.raises(dh.HarnessError, match="pinned tag"):
        dh.load_catalog(path)


def test_resolve_images_switches_with_one_variable():
    catalog = dh.load_catalog()
    local = dh.resolve_images(catalog, "local")
    upstream = dh.resolve_images(catalog, "upstream")
    assert local["tempo"] == "lgtm-test/standin/tempo:orchestration-only"
    assert upstream["tempo"].startswith("grafana/tempo:")
    assert "standin_base" not in local
    assert not any("standin" in ref for ref in upstream.values())
    with pytest.raises(dh.HarnessError, match="LGTM_TEST_IMAGES"):
        dh.resolve_images(catalog, "pulled")


def test_build_order_puts_parents_first_and_detects_cycles(tmp_path):
    catalog = dh.load_catalog()
    order = dh.build_order(catalog)
    assert order.index("standin_base") < order.index("tempo")
    cyclic = {"images": {"a": {"from": "b"}, "b": {"from": "a"}}}
    with pytest.raises(dh.HarnessError, match="cycle"):
        dh.build_order(cyclic)
    with pytest.raises(dh.HarnessError, match="unknown image 'nope'"):
        dh.build_order({"images": {"a": {"from": "nope"}}})


def test_ensure_images_builds_only_what_changed(monkeypatch, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    catalog = {
        "base": {"local": "lgtm-test/base:1"},
        "images": {
            "real": {"kind": "real", "context": "ctx", "local": "lgtm-test/real:1"},
            "sbase": {"kind": "standin", "context": "ctx", "local": "lgtm-test/standin:o"},
            "tempo": {"kind": "standin", "from": "sbase", "ports": [3200], "local": "lgtm-test/standin/tempo:o"},
        },
    }
    monkeypatch.setattr(dh, "load_catalog", lambda: catalog)
    monkeypatch.setattr(dh, "CONTEXTS_DIR", tmp_path)
    monkeypatch.setattr(dh, "ensure_base_image", lambda ref, mirror: "present")
    labels, built = {}, []
    monkeypatch.setattr(dh, "image_id", lambda ref: f"id-of-{ref}")
    monkeypatch.setattr(dh, "image_label", lambda ref, label: labels.get(ref))

    def fake_build(ref, hash_value, kind, **kwargs):
        built.append(ref)
        labels[ref] = hash_value

    monkeypatch.setattr(dh, "docker_build", fake_build)
    first = dh.ensure_images()
    assert built == ["lgtm-test/real:1", "lgtm-test/standin:o", "lgtm-test/standin/tempo:o"]
    assert first["tempo"].startswith("built")
    built.clear()
    second = dh.ensure_images()
    assert built == [] and set(second.values()) == {"present"}
    (context / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n")
    dh.ensure_images(["real"])
    assert built == ["lgtm-test/real:1"]


def test_an_image_built_from_another_gets_it_as_build_argument_and_staged_sources(monkeypatch, tmp_path):
    """shop_api: docs/examples/go staged into its context, built FROM the go_sdk image (GO_SDK_IMAGE); a change
    of the staged sources or of the go_sdk image rebuilds it, nothing else does."""
    for name in ("sdk", "app"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    source = tmp_path / "checkout" / "docs" / "examples" / "go"
    source.mkdir(parents=True)
    (source / "main.go").write_text("package main\n")
    catalog = {"base": {"local": "lgtm-test/base:1"}, "images": {
        "app": {"kind": "real", "context": "app", "image_args": {"SDK": "sdk"}, "stage": {"src": "docs/examples/go"},
                "local": "lgtm-test/app:1"},
        "sdk": {"kind": "real", "context": "sdk", "local": "lgtm-test/sdk:1"}}}
    monkeypatch.setattr(dh, "load_catalog", lambda: catalog)
    monkeypatch.setattr(dh, "CONTEXTS_DIR", tmp_path)
    monkeypatch.setattr(dh, "ROOT", tmp_path / "checkout")
    monkeypatch.setattr(dh, "ensure_base_image", lambda ref, mirror: "present")
    labels, built, ids = {}, [], {"lgtm-test/sdk:1": "sdk-1"}
    monkeypatch.setattr(dh, "image_id", lambda ref: ids.get(ref, f"id-of-{ref}"))
    monkeypatch.setattr(dh, "image_label", lambda ref, label: labels.get(ref))

    def fake_build(ref, hash_value, kind, **kwargs):
        built.append((ref, kwargs.get("build_args")))
        labels[ref] = hash_value

    monkeypatch.setattr(dh, "docker_build", fake_build)
    dh.ensure_images(["app"])
    assert built == [("lgtm-test/sdk:1", {}), ("lgtm-test/app:1", {"SDK": "lgtm-test/sdk:1"})]
    assert (tmp_path / "app" / "src" / "main.go").read_text() == "package main\n"
    built.clear()
    dh.ensure_images(["app"])
    assert built == []
    (source / "main.go").write_text("package main // changed\n")
    dh.ensure_images(["app"])
    assert [ref for ref, _ in built] == ["lgtm-test/app:1"]
    built.clear()
    ids["lgtm-test/sdk:1"] = "sdk-2"
    dh.ensure_images(["app"])
    assert [ref for ref, _ in built] == ["lgtm-test/app:1"]


def test_the_example_api_runs_the_guide_code_built_here():
    catalog = dh.load_catalog()
    spec = catalog["images"][dh.LEGACY_EXAMPLE_IMAGES["api"]]
    assert spec["kind"] == "real" and spec["stage"] == {"src": "docs/examples/go"}
    assert spec["image_args"] == {"GO_SDK_IMAGE": "go_sdk"}


def test_standin_dockerfile_declares_component_and_ports():
    text = dh.standin_dockerfile("lgtm-test/standin:o", "tempo", {"ready_path": "/ready", "ports": [3200, 4318]})
    assert text.startswith("FROM lgtm-test/standin:o\n")
    assert 'STANDIN_COMPONENT="tempo"' in text and 'STANDIN_PORTS="3200 4318"' in text
    assert "EXPOSE 3200 4318" in text


def test_stop_engine_only_stops_what_it_started(monkeypatch, tmp_path):
    pidfile = tmp_path / "dockerd.pid"
    monkeypatch.setattr(dh, "DOCKERD_PIDFILE", pidfile)
    assert dh.stop_engine() == "not-started-by-harness"
    pidfile.write_text("999999999\n")
    assert dh.stop_engine() == "already-stopped"
    assert not pidfile.exists()


def test_entrypoints_are_executable():
    for script in dh.CONTEXTS_DIR.glob("*/entrypoint.sh"):
        assert os.stat(script).st_mode & stat.S_IXUSR, script
