"""The documentation says what the collection does: links resolve, variables exist, images and ports match the
roles, every playbook command it shows is run by a test, and the Go skeleton is valid Go."""

import glob
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md"] + sorted(ROOT.glob("docs/*.md")) + sorted(ROOT.glob("roles/*/README.md"))
SHARED = {"lgtm_project_dir", "lgtm_stack_dir", "lgtm_network", "lgtm_bind_address", "lgtm_images",
          "lgtm_service_namespace", "lgtm_environment", "lgtm_compose_project", "lgtm_report_language", "lgtm_hosts",
          "lgtm_verify", "lgtm_sre_guide_path"}


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


def test_every_playbook_command_in_the_docs_is_run_by_a_test():
    commands = set()
    for doc in DOCS:
        commands |= set(re.findall(r"ansible-playbook (?:-\S+ )*(?:lgtm\.stack\.)?([a-z_]+)(?:\.yml)?[\s`]", doc.read_text()))
    assert {"migrate", "rollback", "verify"} <= commands
    tests = "\n".join(Path(p).read_text() for p in glob.glob(str(ROOT / "tests/integration/*.py")))
    tests += (ROOT / "scripts/test.sh").read_text()
    for name in commands:
        assert (ROOT / ("%s.yml" % name)).is_file() and (ROOT / "playbooks" / ("%s.yml" % name)).is_file(), name
        assert re.search(r'(playbook="%s\.yml"|"%s\.yml"|%s\.yml --check)' % (name, name, name), tests), \
            "no test runs %s.yml" % name


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
        pytest.skip("gofmt not installed (apt install golang-go): syntax not checked")
    proc = subprocess.run(["gofmt", "-l", "-e", str(base)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
