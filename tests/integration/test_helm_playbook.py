"""helm_values.yml (lgtm.stack.helm_values) as a user runs it: on the example project never migrated (read-only
analysis) and on one whose migration recorded a plan; every file written parses, a second run changes nothing,
the project's own files stay as they were, and no secret is written. No cluster is contacted (none exists here);
the keys are checked against the charts' recorded facts by tests/unit/roles/test_helm_values.py."""

import json
import os
import re
import shutil
import subprocess
import sys

import yaml

from tests.integration.conftest import EXAMPLE, ROOT

sys.path.insert(0, str(ROOT / "tests" / "harness"))

import snapshot  # noqa: E402

FILES = ("alloy-values.yaml", "tempo-values.yaml", "loki-values.yaml", "mimir-values.yaml", "grafana-values.yaml",
         "grafana-dashboards.yaml", "README.md")


def run(project, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    argv = ["ansible-playbook", "helm_values.yml", "-e", "lgtm_project_dir=%s" % project] + list(extra)
    proc = subprocess.run(argv, cwd=str(ROOT), capture_output=True, text=True, env=env, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def test_values_of_a_project_never_migrated(tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(str(EXAMPLE), str(project))
    before = snapshot.tree(str(project))
    rc, out = run(project, "-e", "lgtm_helm_namespace=obs")
    assert rc == 0, out[-3000:]
    out_dir = project / "observability" / "kubernetes"
    assert sorted(os.listdir(str(out_dir))) == sorted(FILES)
    after = snapshot.tree(str(project))
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert all(p.startswith("observability/kubernetes/") or p in ("observability", "observability/kubernetes")
               for p in changed), changed
    for name in FILES[:-1]:
        docs = [d for d in yaml.safe_load_all((out_dir / name).read_text()) if d is not None]
        assert docs, name
    alloy = yaml.safe_load((out_dir / "alloy-values.yaml").read_text())
    assert "tempo.obs.svc.cluster.local:4317" in alloy["alloy"]["configMap"]["content"]
    maps = list(yaml.safe_load_all((out_dir / "grafana-dashboards.yaml").read_text()))
    assert [m["metadata"]["name"] for m in maps] == ["lgtm-dashboards-lgtm-stack", "lgtm-dashboards-project"]
    assert {"service-red.json", "mysql.json", "redis.json", "stack-health.json"} <= set(maps[0]["data"])
    readme = (out_dir / "README.md").read_text()
    assert "helm upgrade --install mimir grafana/mimir-distributed --version 6.0.5 -n obs -f mimir-values.yaml" in readme
    # The example's credentials (in its .env and my.cnf) are never written.
    text = "".join((out_dir / n).read_text() for n in FILES)
    assert not re.search(r"example-(root|shop|admin|exporter)-pw", text)
    rc, out = run(project, "-e", "lgtm_helm_namespace=obs")
    assert rc == 0 and re.search(r"changed=0 ", out), out[-3000:]


def test_values_follow_the_recorded_plan(tmp_path):
    """A migrated project: the recorded plan (its namespace, its carried dashboards) is what the values carry."""
    project = tmp_path / "shop"
    shutil.copytree(str(EXAMPLE), str(project))
    sys.path.insert(0, str(ROOT / "collections"))
    from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
    from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan

    plan = json.loads(json.dumps(build_plan(L.analyse_project(str(project)), service_namespace="payments")))
    stack = project / "observability"
    (stack / "grafana" / "dashboards" / "project" / "Team").mkdir(parents=True)
    (stack / "grafana" / "dashboards" / "project" / "Team" / "orders.json").write_text('{"uid": "orders"}')
    (stack / "MIGRATION_REPORT.json").write_text(json.dumps({"generator": "lgtm.stack.migrate", "format": 1,
                                                             "plan": plan}))
    rc, out = run(project)
    assert rc == 0, out[-3000:]
    out_dir = stack / "kubernetes"
    readme = (out_dir / "README.md").read_text()
    assert "service.namespace=payments" in readme, readme[-1500:]
    maps = list(yaml.safe_load_all((out_dir / "grafana-dashboards.yaml").read_text()))
    assert maps[1]["data"] == {"Team__orders.json": '{"uid": "orders"}'}
