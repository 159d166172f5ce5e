"""The stack role's compose file and .gitignore: relative include paths (a clone in another directory works) and
the secrets kept out of git."""

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _render(render_role_template, **overrides):
    text, _ = render_role_template("stack", "compose.yaml.j2", lgtm_project_dir="/srv/shop", **overrides)
    return text, yaml.safe_load(text)


def test_root_included_stack_file_names_its_fragments_relative_to_itself(render_role_template):
    text, model = _render(render_role_template, lgtm_stack_root_include=True, lgtm_stack_exporters=True)
    assert model["include"] == ["alloy/compose.yaml", "tempo/compose.yaml", "loki/compose.yaml", "mimir/compose.yaml",
                                "grafana/compose.yaml", "exporters/compose.yaml"]
    assert "/srv/shop" not in text


def test_stack_file_passed_with_f_names_its_fragments_relative_to_the_project(render_role_template):
    # compose resolves an include of a file given with -f against the project directory, not the file's own.
    _, model = _render(render_role_template, lgtm_stack_components=["tempo"], lgtm_stack_exporters=False)
    assert model["include"] == ["observability/tempo/compose.yaml"]
    _, model = _render(render_role_template, lgtm_stack_components=["tempo"], lgtm_stack_exporters=False,
                       lgtm_stack_dir="/srv/shop/ops/lgtm")
    assert model["include"] == ["ops/lgtm/tempo/compose.yaml"]


def _compose_project(tmp_path, include_line):
    """A project in tmp_path/<name>: docker-compose.yml, observability/compose.yaml and one fragment."""
    project = tmp_path / "shop"
    fragment = project / "observability" / "tempo"
    fragment.mkdir(parents=True)
    (fragment / "tempo.yaml").write_text("{}\n")
    (fragment / "compose.yaml").write_text(
        "services:\n  tempo:\n    image: busybox\n    volumes:\n      - ./tempo.yaml:/etc/tempo.yaml:ro\n")
    (project / "docker-compose.yml").write_text("services:\n  api:\n    image: busybox\n" + include_line)
    return project


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
                    reason="needs the docker compose plugin (no engine needed)")
@pytest.mark.parametrize("root_include", [True, False])
def test_rendered_paths_resolve_from_a_moved_copy(render_role_template, tmp_path, root_include):
    """Both modes: `docker compose config` of a copy in another directory finds the fragment and its files there."""
    text, _ = render_role_template("stack", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                   lgtm_stack_root_include=root_include, lgtm_stack_components=["tempo"],
                                   lgtm_stack_exporters=False)
    project = _compose_project(tmp_path, "include:\n  - observability/compose.yaml\n" if root_include else "")
    (project / "observability" / "compose.yaml").write_text(text)
    moved = tmp_path / "elsewhere" / "clone"
    moved.parent.mkdir()
    project.rename(moved)
    files = ["-f", "docker-compose.yml"] + ([] if root_include else ["-f", "observability/compose.yaml"])
    proc = subprocess.run(["docker", "compose", "--project-directory", str(moved)] + files
                          + ["config", "--format", "json"], cwd=str(moved), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    model = yaml.safe_load(proc.stdout)
    assert model["services"]["tempo"]["volumes"][0]["source"] == str(moved / "observability/tempo/tempo.yaml")


def test_gitignore_keeps_every_secret_and_the_run_state_out(render_role_template):
    text, _ = render_role_template("stack", "gitignore.j2", lgtm_project_dir="/srv/shop")
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    for rule in ("/grafana/admin_password", "/exporters/*.my.cnf", "/exporters/*.passwords.json", "/alloy/scrape.env",
                 "/.lgtm-stamp.json"):
        assert rule in rules, rule


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="needs git")
def test_git_really_ignores_the_secrets_and_keeps_the_configs(render_role_template, tmp_path):
    text, _ = render_role_template("stack", "gitignore.j2", lgtm_project_dir="/srv/shop")
    stack = tmp_path / "observability"
    stack.mkdir()
    (stack / ".gitignore").write_text(text)
    (tmp_path / ".lgtm-backup").mkdir()
    # What the role writes into a machine-state directory (tasks/deploy.yml).
    deploy = yaml.safe_load((ROOT / "roles/stack/tasks/deploy.yml").read_text())
    task = [t for t in deploy if "machine-state directories out of git" in t["name"]][0]
    (tmp_path / ".lgtm-backup" / ".gitignore").write_text(task["vars"]["__lgtm_stack_state_ignore"])
    paths = ["observability/grafana/admin_password", "observability/exporters/mysqld-exporter.my.cnf",
             "observability/exporters/redis-exporter.passwords.json", "observability/alloy/scrape.env",
             "observability/.lgtm-stamp.json", ".lgtm-backup/20261125T120000Z/docker-compose.yml",
             ".lgtm-backup/.gitignore"]
    kept = ["observability/compose.yaml", "observability/grafana/compose.yaml", "observability/alloy/config.alloy",
            "observability/exporters/compose.yaml", "observability/MIGRATION_REPORT.json", "observability/.gitignore"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    proc = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "--no-index"] + paths + kept,
                          capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(paths)


@pytest.mark.parametrize(("users", "expected"), [
    (None, False),  # the lookup did not run (no `up`, a first --check)
    ([], False),  # no container of this project on a network named like the key
    (["9f5d917327a0"], True),  # one still is: an earlier release's network
])
def test_a_container_on_the_old_fixed_name_network_recreates_the_project(render_role_template, users, expected):
    found = {} if users is None else {"stdout_lines": users}
    _, resolved = render_role_template("stack", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                       lgtm_network="lgtm-shop", __lgtm_stack_old_network_users=found)
    assert resolved["lgtm_stack_network"] == "lgtm-shop"
    assert resolved["__lgtm_stack_old_network"] is expected
