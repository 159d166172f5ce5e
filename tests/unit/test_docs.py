"""The documentation says what the collection does: links resolve, variables exist, images and ports match the
roles, every playbook command it shows is run by a test, and the Go skeleton is valid Go."""

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import docs_commands

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md"] + sorted(ROOT.glob("docs/*.md")) + sorted(ROOT.glob("roles/*/README.md"))
SHARED = {"lgtm_project_dir", "lgtm_stack_dir", "lgtm_network", "lgtm_bind_address", "lgtm_images",
          "lgtm_service_namespace", "lgtm_environment", "lgtm_compose_project", "lgtm_report_language", "lgtm_hosts",
          "lgtm_verify", "lgtm_sre_guide_path", "lgtm_backend", "lgtm_remote", "lgtm_object_storage",
          "lgtm_helm_namespace", "lgtm_helm_dir", "lgtm_verify_span_metrics", "lgtm_service_names",
          "lgtm_enabled_exporters", "lgtm_image_checks", "lgtm_verify_probe", "lgtm_modules_in_process"}


def _known_variables():
    names = set(SHARED)
    for path in glob.glob(str(ROOT / "roles/*/defaults/main.yml")) + glob.glob(str(ROOT / "roles/*/meta/argument_specs.yml")):
        names |= set(re.findall(r"^\s*(lgtm_[a-z0-9_]+):", Path(path).read_text(), re.M))
    # Facts the roles set for their callers (lgtm_<role>_changed, _restart, lgtm_migrate_plan...).
    for path in glob.glob(str(ROOT / "playbooks/*.yml")) + glob.glob(str(ROOT / "roles/*/tasks/*.yml")):
        names |= set(re.findall(r"^\s+(lgtm_[a-z0-9_]+):", Path(path).read_text(), re.M))
    return names


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_links_resolve(doc):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if re.match(r"^[a-z]+://", target):
            continue
        assert (doc.parent / target).exists(), "%s links to missing %s" % (doc.relative_to(ROOT), target)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_variables_exist(doc):
    known = _known_variables()
    text = doc.read_text()
    # `lgtm_<component>_host_port` and the like are patterns, not names.
    mentioned = set(re.findall(r"\blgtm_[a-z0-9_]*[a-z0-9]\b", text)) - {"lgtm_docker_hosts"}
    unknown = sorted(m for m in mentioned if m not in known and not m.endswith(("_", "lgtm")))
    assert unknown == [], "%s mentions unknown variables %s" % (doc.relative_to(ROOT), unknown)


def test_sre_guide_images_and_ports_match_the_roles():
    guide = (ROOT / "docs/sre_guide.md").read_text()
    defaults = "\n".join(Path(p).read_text() for p in glob.glob(str(ROOT / "roles/*/defaults/main.yml")))
    images = re.findall(r"default\('([a-z0-9./_-]+:[A-Za-z0-9._-]+)'\)", defaults)
    assert len(images) == 7
    for image in images:
        assert "`%s`" % image in guide, image
    for port in re.findall(r"^lgtm_[a-z_]+_host_port: (\d+)$", defaults, re.M):
        assert port in guide, port


def test_every_command_in_the_docs_is_run_by_a_test():
    """Each command the docs show is in tests/docs_commands.yml with its runner, and the runner contains it."""
    registry = docs_commands.load()
    documented = docs_commands.documented()
    listed = dict((entry["cmd"], kind) for kind in ("lifecycle", "test.sh", "unit", "e2e", "not_here")
                  for entry in registry[kind])
    missing = sorted(set(documented) - set(listed))
    assert missing == [], "documented commands no test runs (add them to tests/docs_commands.yml): %s" % [
        "%s (%s)" % (c, ", ".join(documented[c])) for c in missing]
    stale = sorted(set(listed) - set(documented))
    assert stale == [], "tests/docs_commands.yml lists commands the docs no longer show: %s" % stale
    suite = "".join(path.read_text() for path in [ROOT / "scripts/test.sh", ROOT / ".ci/run", ROOT / "tests/suite.py"]
                    + sorted((ROOT / "tests/integration").glob("test_*.py")))
    e2e = (ROOT / "molecule/e2e/verify.yml").read_text()
    lifecycle = (ROOT / "tests/integration/test_lifecycle.py").read_text()
    assert "docs_commands.load()" in lifecycle and "lifecycle" in lifecycle
    for entry in registry.get("test.sh", []):
        assert entry["runner"] in suite, "the suite (tests/suite.py and its steps) does not run %s" % entry["cmd"]
    for entry in registry.get("unit", []):
        assert entry["runner"] in Path(__file__).read_text(), "tests/unit/test_docs.py does not run %s" % entry["cmd"]
    for entry in registry.get("e2e", []):
        assert entry["runner"] in e2e, "molecule/e2e/verify.yml does not run %s" % entry["cmd"]
    for entry in registry.get("not_here", []):
        assert len(entry["reason"]) > 40, entry
    for entry in registry.get("lifecycle", []):
        for name in re.findall(r"ansible-playbook (?:lgtm\.stack\.)?([a-z_]+)", entry["cmd"]):
            assert (ROOT / ("%s.yml" % name)).is_file() and (ROOT / "playbooks" / ("%s.yml" % name)).is_file(), name


def test_the_command_extractor_sees_blocks_spans_and_prompts(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("Run `ansible-playbook migrate.yml` or `docker`.\n\n```sh\n$ curl -s 127.0.0.1:1/x   # probe\n"
                   "# a comment\n\n./scripts/test.sh\n```\n\n```yaml\nimage: x\n```\n")
    assert sorted(docs_commands.documented([doc])) == ["./scripts/test.sh", "ansible-playbook migrate.yml",
                                                       "curl -s 127.0.0.1:1/x"]


def test_every_path_in_the_docs_exists_or_is_checked_on_a_project():
    """A path the docs name is in this repository, or in tests/docs_commands.yml with the test that checks it on
    a project (or with the reason it is not a path)."""
    registry = docs_commands.load()["paths"]
    listed = set(e["path"] for kind in ("lifecycle", "demo", "not_paths") for e in registry[kind])
    documented = docs_commands.documented_paths()
    for path in sorted(documented - listed):
        if docs_commands.project_path(path) is not None:
            continue  # a path inside the project: test_lifecycle checks it on a migrated one
        assert docs_commands.repo_resolves(path), "the docs name %s: not in the repository, not in %s" % (
            path, docs_commands.REGISTRY.relative_to(ROOT))
    assert sorted(listed - documented) == [], "tests/docs_commands.yml lists paths the docs no longer name"
    assert 'missing_paths("demo"' in (ROOT / "tests/integration/test_demo.py").read_text()
    assert 'missing_paths("lifecycle"' in (ROOT / "tests/integration/test_lifecycle.py").read_text()


def test_go_example_is_a_module_with_valid_go():
    base = ROOT / "docs/examples/go"
    mod = (base / "go.mod").read_text()
    assert mod.startswith("module example.com/shop-api\n")
    sources = sorted(base.rglob("*.go"))
    imports = set(i for s in sources for i in re.findall(r'^\s+(?:_ |\w+ )?"([^"]+)"$', s.read_text(), re.M))
    third_party = set(i for i in imports if "." in i.split("/")[0] and not i.startswith("example.com/"))
    required = set(re.findall(r"^\t(\S+) v", mod, re.M))
    for package in third_party:
        assert any(package == r or package.startswith(r + "/") for r in required), "go.mod lacks %s" % package
    if not shutil.which("gofmt"):
        # scripts/test.sh installs Debian's golang-go and sets LGTM_REQUIRE_GOFMT=1: the suite never skips this.
        assert os.environ.get("LGTM_REQUIRE_GOFMT") != "1", "gofmt is missing but scripts/test.sh requires it"
        pytest.skip("gofmt not installed (apt install golang-go): syntax not checked")
    proc = subprocess.run(["gofmt", "-l", "-e", str(base)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
