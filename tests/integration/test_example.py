"""`migrate.yml --check --diff` at -vvv on a copy of the bundled example, as a user previews a migration.

The run must plan the whole migration (its summary counts the example's findings and the compose diff removes the
legacy services), say that it ran in check mode, leak none of the example's credentials even at -vvv, and leave
the project and the engine exactly as they were.
"""

import re
import shutil

from tests.integration.conftest import EXAMPLE, run_migrate

# The example's credentials (examples/legacy-project/.env, mysql/, exporters/): none may reach the output.
EXAMPLE_SECRETS = re.compile(r".{0,60}example-(root|shop|admin|exporter)-pw")


def test_check_diff_previews_the_whole_migration_of_the_example(tmp_path, unchanged):
    project = tmp_path / "legacy-project"
    shutil.copytree(EXAMPLE, project, symlinks=True)
    rc, out = unchanged(project, lambda: run_migrate(project, "-vvv", "--diff", check=True))
    assert rc == 0, out[-4000:]
    assert "Findings: 3 high" in out, "the summary does not count the example's 3 high findings: %s" % (
        re.findall(r"Findings: [^.]*", " ".join(out.split()))[:1])
    for service in ("jaeger", "prometheus", "promtail"):
        assert re.search(r"^-  %s:$" % service, out, re.M), "the compose diff does not remove %s" % service
    assert "CHECK MODE, nothing was changed" in out
    leaks = [m.group(0) for m in EXAMPLE_SECRETS.finditer(out)]
    assert leaks == [], "an example credential is in the -vvv output: %s" % leaks[:3]
