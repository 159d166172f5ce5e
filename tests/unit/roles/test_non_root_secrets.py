"""An ordinary user in the docker group runs the roles: the secret files stay theirs (0640) and the containers that
read them join the user's primary group; run as root, nothing is added (the files go to the container's uid)."""

import yaml

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

    assert grafana(NON_ROOT)["group_add"] == ["1001"]
    assert grafana(NON_ROOT, __lgtm_grafana_secret_groups=[1001, 2000])["group_add"] == ["1001", "2000"]
    assert "group_add" not in grafana({"user_uid": 0, "user_gid": 0})
    assert grafana({"user_uid": 0, "user_gid": 0}, __lgtm_grafana_secret_groups=[2000])["group_add"] == ["2000"]
    assert grafana(NON_ROOT)["user"] == "472:0"


def test_the_secret_file_tasks_chown_only_as_root():
    """The tasks themselves: owner given only as root (a user cannot chown), 0640 with the user's group otherwise."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "roles"
    tasks = (yaml.safe_load((root / "exporters/tasks/configure.yml").read_text())
             + yaml.safe_load((root / "grafana/tasks/configure.yml").read_text()))
    secret_writers = [t for t in tasks if t.get("no_log") and ("ansible.builtin.copy" in t or "ansible.builtin.template" in t)]
    assert len(secret_writers) == 3
    for task in secret_writers:
        args = task.get("ansible.builtin.copy") or task.get("ansible.builtin.template")
        assert args["owner"].endswith("if __lgtm_exporters_as_root else omit }}") or \
            args["owner"].endswith("if __lgtm_grafana_as_root else omit }}"), task["name"]
        assert "'0600' if" in args["mode"] and "else '0640'" in args["mode"], task["name"]
        assert "ansible_facts.user_gid" in args["group"], task["name"]
    facts = [t for t in tasks if "ansible.builtin.setup" in t]
    assert len(facts) == 2 and all(t["when"] == "ansible_facts.user_uid is not defined" for t in facts)
