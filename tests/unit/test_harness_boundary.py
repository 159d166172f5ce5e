"""The collection knows nothing of the test harness; the harness says what its stand-ins cannot do in one place.

tests/harness/images.json's `standin_variables` are added to every run on the orchestration-only stand-ins
(dockerhost.stack_vars, molecule's converge). Each must be a variable the collection really reads - a renamed
variable would otherwise leave the stand-ins silently checking configs, probing, or running a missing grafana cli.
"""

import re
from pathlib import Path

import pytest

from tests.harness import dockerhost

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "plugins", ROOT / "roles", ROOT / "playbooks", ROOT / "meta"] + sorted(ROOT.glob("*.yml"))
# What would be knowledge of the harness: its label namespace, its image names, the word itself.
HARNESS_WORDS = re.compile(r"lgtm-test|lgtm_test|standin|stand-in|stand_in|orchestration-only|tests/harness|images\.json",
                           re.IGNORECASE)


def _files():
    for path in SHIPPED:
        for item in ([path] if path.is_file() else sorted(path.rglob("*"))):
            if item.is_file() and "__pycache__" not in item.parts:
                yield item


def test_shipped_code_and_docs_of_the_collection_never_name_the_harness():
    found, scanned = [], 0
    for path in _files():
        scanned += 1
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if HARNESS_WORDS.search(line):
                found.append("%s:%d: %s" % (path.relative_to(ROOT), number, line.strip()))
    assert scanned > 100, "only %d files scanned: did plugins/, roles/ or playbooks/ move?" % scanned
    assert found == [], "the test harness is named in shipped files:\n" + "\n".join(found)


def test_the_boundary_check_can_fail(tmp_path):
    assert HARNESS_WORDS.search("when: \"'org.lgtm-test.standin' not in labels\"")
    assert HARNESS_WORDS.search('bare = last[len("standin-"):]')
    assert not HARNESS_WORDS.search("lgtm_image_checks: false  # an image that implements nothing")


@pytest.mark.parametrize("name", sorted(k for k in dockerhost.load_catalog()["standin_variables"] if not k.startswith("_")))
def test_each_standin_variable_is_one_the_collection_reads(name):
    # A read is a use in an expression or a condition, not a comment, a default or an argument spec's key.
    lines = [line for path in _files() if path.suffix in (".yml", ".yaml", ".j2")
             for line in path.read_text(errors="replace").splitlines() if not line.lstrip().startswith("#")]
    reads = [line for line in lines if re.search(r"\b%s\b" % re.escape(name), line)
             and not re.match(r"^\s*(- )?%s:" % re.escape(name), line)]
    assert reads, "%s (tests/harness/images.json, standin_variables) is read nowhere in the collection" % name


def test_stack_vars_adds_the_standin_variables_only_for_stand_ins():
    catalog = dockerhost.load_catalog()
    switched = dict((k, v) for k, v in catalog["standin_variables"].items() if not k.startswith("_"))
    assert switched and all(v is False for v in switched.values())
    local = dockerhost.stack_vars(["alloy", "tempo"], "local", catalog)
    assert local["lgtm_images"] == {"alloy": catalog["images"]["alloy"]["local"],
                                    "tempo": catalog["images"]["tempo"]["local"]}
    assert all(local[k] == v for k, v in switched.items())
    real_only = dockerhost.stack_vars(["mysqld_exporter"], "local", catalog)
    assert set(real_only) == {"lgtm_images"}, "real images need nothing turned off"
    upstream = dockerhost.stack_vars(["alloy", "tempo"], "upstream", catalog)
    assert set(upstream) == {"lgtm_images"} and upstream["lgtm_images"]["alloy"] == catalog["images"]["alloy"]["upstream"]
    with pytest.raises(dockerhost.HarnessError, match="no image nope"):
        dockerhost.stack_vars(["nope"], "local", catalog)


def test_standin_images_keep_the_component_as_the_last_name_segment():
    """The legacy analysis recognises a component by its image's last path segment; the stand-ins are named so
    that it needs no special case for them."""
    from ansible_collections.lgtm.stack.plugins.module_utils import legacy

    catalog = dockerhost.load_catalog()
    for name, spec in catalog["images"].items():
        if spec["kind"] == "standin" and "from" in spec:
            repo = spec["local"].rsplit(":", 1)[0]
            assert repo.rsplit("/", 1)[-1] == name.replace("_", "-"), spec["local"]
            component, _why = legacy._by_image(spec["local"])
            assert component == name, (spec["local"], component)
