"""An ordinary user in the docker group runs the roles: the secret files stay theirs (0640) and the containers that
read them join the user's primary group; run as root, nothing is added (the files go to the container's uid)."""

import yaml

from tests.unit.plugins.module_utils.test_remote import CENTRAL as REMOTE

NON_ROOT = {"user_uid": 1000, "user_gid": 1001}


def _exporters(render_role_template, facts):
    text, _ = render_role_template(
        "exporters", "compose.yaml.j2", lgtm_project_dir="/srv/shop", ansible_facts=facts,
        lgtm_exporters_mysqld_enabled=True, lgtm_exporters_mysqld_password="pw-mysql",
        lgtm_exporters_redis_enabled=True, lgtm_exporters_redis_password="pw-redis")
    return yaml.safe_load(text)["services"]


def test_exporters_join_the_users_group_only_when_not_root(render_role_template):
    for svc in _exporters(render_role_template, NON_ROOT).values():
        assert svc["group_add"] == ["1001"] and svc["user"] == "65534:65534"
    for svc in _exporters(render_role_template, {"user_uid": 0, "user_gid": 0}).values():
        assert "group_add" not in svc


def test_grafana_joins_the_users_group_next_to_the_remote_secrets_groups(render_role_template):
    def grafana(facts, **extra):
        text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                       ansible_facts=facts, **extra)
        return yaml.safe_load(text)["services"]["grafana"]

    remote = dict(lgtm_backend="remote", lgtm_remote=REMOTE)
    assert grafana(NON_ROOT)["group_add"] == ["1001"]
    assert grafana(NON_ROOT, __lgtm_grafana_secret_groups=[1001, 2000], **remote)["group_add"] == ["1001", "2000"]
    assert "group_add" not in grafana({"user_uid": 0, "user_gid": 0})
    assert grafana({"user_uid": 0, "user_gid": 0}, __lgtm_grafana_secret_groups=[2000], **remote)["group_add"] == ["2000"]
    # The remote preflight sets the groups; a later run of the role with the local backend skips it and must not
    # take over what an earlier remote run left.
    assert "group_add" not in grafana({"user_uid": 0, "user_gid": 0}, __lgtm_grafana_secret_groups=[2000])
    assert grafana(NON_ROOT)["user"] == "472:0"


def _secret_specs(tasks):
    """(task, secret file spec) of every component_files call, a field given as one task variable read from it."""
    for task in tasks:
        for spec in (task.get("lgtm.stack.component_files") or {}).get("secret_files") or []:
            resolved = {}
            for key, value in spec.items():
                name = value[3:-3].strip() if isinstance(value, str) and value.startswith("{{ __") else None
                resolved[key] = task.get("vars", {}).get(name, value) if name else value
            yield task, resolved


def test_the_secret_files_chown_only_as_root():
    """The secret files: owner given only as root (a user cannot chown), 0640 with the user's group otherwise;
    written by component_files' secret_files (never shown), never by a task that would need no_log."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "roles"
    tasks = (yaml.safe_load((root / "exporters/tasks/configure.yml").read_text())
             + yaml.safe_load((root / "grafana/tasks/configure.yml").read_text()))
    specs = list(_secret_specs(tasks))
    assert sorted(spec["name"] for _task, spec in specs) == [
        "admin_password", "mysqld-exporter.my.cnf", "redis-exporter.passwords.json"]
    for task, spec in specs:
        assert spec["owner"].endswith("if __lgtm_exporters_as_root else '' }}") or \
            spec["owner"].endswith("if __lgtm_grafana_as_root else '' }}"), task["name"]
        assert "'0600' if" in spec["mode"] and "else '0640'" in spec["mode"], task["name"]
        assert "ansible_facts.user_gid" in spec["group"], task["name"]
    assert not [t["name"] for t in tasks if "ansible.builtin.copy" in t or "ansible.builtin.template" in t]
    facts = [t for t in tasks if "ansible.builtin.setup" in t]
    assert len(facts) == 2 and all(t["when"] == "ansible_facts.user_uid is not defined" for t in facts)
