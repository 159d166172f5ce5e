"""The rule-file check the migration makes before carrying a file into Mimir's ruler, against the real promtool.

`legacy.rule_file_problems` decides whether a Prometheus rule file loads (then Mimir's ruler evaluates it, P043)
or not (a finding, P015). Prometheus' own `promtool check rules` (Debian's Prometheus 2.42 in the harness image
lgtm-test/prometheus, the parser the legacy stack ran) must agree on every rule file of the example and the
fixtures and on every broken shape the unit tests use.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml

from tests.integration.conftest import ROOT

sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L  # noqa: E402

IMAGE = json.loads((ROOT / "tests" / "harness" / "images.json").read_text())["images"]["prometheus"]["local"]
FILES = sorted([ROOT / "examples" / "legacy-project" / "prometheus" / "rules.yml"]
               + list((ROOT / "tests" / "unit" / "fixtures" / "projects").glob("*/prometheus/rules.yml")))
BROKEN = {
    "no-name": {"groups": [{"rules": [{"record": "a", "expr": "up"}]}]},
    "twice": {"groups": [{"name": "a", "rules": []}, {"name": "a", "rules": []}]},
    "neither": {"groups": [{"name": "a", "rules": [{"expr": "up"}]}]},
    "both": {"groups": [{"name": "a", "rules": [{"record": "x", "alert": "y", "expr": "up"}]}]},
    "no-expr": {"groups": [{"name": "a", "rules": [{"alert": "Down"}]}]},
    "bad-metric-name": {"groups": [{"name": "a", "rules": [{"record": "job:up-5m", "expr": "up"}]}]},
    "rule-not-a-mapping": {"groups": [{"name": "a", "rules": ["up"]}]},
    "unknown-rule-key": {"groups": [{"name": "a", "rules": [{"record": "a:b", "expr": "up", "foo": "bar"}]}]},
    "unknown-group-key": {"groups": [{"name": "a", "source_tenants": ["t"], "rules": []}]},
    "unknown-file-key": {"groups": [], "rule_files": []},
    "expr-ends-with-operator": {"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up =="}]}]},
    "expr-unclosed": {"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "sum(rate(x[5m])"}]}]},
    "expr-unbalanced": {"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up{job=\"a\")"}]}]},
    "groups-not-a-list": {"groups": {"name": "a"}},
    "ok-empty": {},
    "ok-no-groups": {"groups": []},
    "ok-no-rules": {"groups": [{"name": "a", "interval": "1m", "rules": []}]},
    "ok-record": {"groups": [{"name": "a", "rules": [{"record": "job:up:sum", "expr": "sum by (job) (up)"}]}]},
    "ok-alert": {"groups": [{"name": "a", "rules": [
        {"alert": "Down", "expr": "up == 0", "for": "1m", "labels": {"severity": "page"}}]}]},
}


@pytest.fixture(scope="module")
def promtool():
    if shutil.which("docker") is None or subprocess.run(["docker", "image", "inspect", IMAGE],
                                                        capture_output=True).returncode:
        assert os.environ.get("LGTM_REQUIRE_PROMTOOL") != "1", "the harness image %s is not there" % IMAGE
        pytest.skip("the harness image %s is not built (python3 -m tests.harness.dockerhost images)" % IMAGE)

    def check(directory):
        """file name -> promtool's exit status, for every *.yml of directory."""
        script = 'for f in /rules/*.yml; do promtool check rules "$f" >/dev/null 2>&1; echo "${f##*/} $?"; done'
        out = subprocess.run(["docker", "run", "--rm", "--name", "lgtm-par-promtool-%s" % uuid.uuid4().hex[:8],
                              # The image's VOLUME /prometheus on a tmpfs: no anonymous volume (the suite's other
                              # engine lane snapshots the engine's volumes).
                              "--network", "none", "--tmpfs", "/prometheus", "-v", "%s:/rules:ro" % directory,
                              "--entrypoint", "sh", IMAGE,
                              "-c", script], capture_output=True, text=True, check=True, timeout=300).stdout
        return dict((name, int(rc)) for name, rc in (line.split() for line in out.splitlines()))

    return check


def test_the_migration_and_promtool_agree_on_every_rule_file(tmp_path, promtool):
    expected = {}
    for index, path in enumerate(FILES):
        name = "real-%d.yml" % index
        shutil.copy(str(path), str(tmp_path / name))
        expected[name] = (path, L.rule_file_problems(yaml.safe_load(path.read_text())))
    for name, doc in BROKEN.items():
        (tmp_path / (name + ".yml")).write_text(yaml.safe_dump(doc))
        expected[name + ".yml"] = (name, L.rule_file_problems(doc))
    tmp_path.chmod(0o755)  # the image's user reads the directory
    results = promtool(tmp_path)
    assert set(results) == set(expected)
    disagreements = [(what, problems, results[name]) for name, (what, problems) in expected.items()
                     if (results[name] == 0) != (not problems)]
    assert not disagreements, disagreements
    # Both kinds are there: the comparison is not vacuous.
    assert sorted(set(results.values())) == [0, 1]
