"""tests/suite.py, the suite's runner: step selection, lanes, logs, the summary and the exit status."""

import re
import sys

import pytest

from tests import suite


@pytest.fixture
def logs(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "LOGS", tmp_path / "logs")
    monkeypatch.setattr(suite, "WORK", tmp_path)
    return tmp_path / "logs"


def _steps(monkeypatch, steps):
    monkeypatch.setattr(suite, "STEPS", steps)
    monkeypatch.setattr(suite, "NAMES", [s[0] for s in steps])
    monkeypatch.setattr(suite, "demo_running", lambda: False)


def test_every_step_runs_in_its_lane_and_the_summary_says_what_failed(logs, monkeypatch, capsys):
    _steps(monkeypatch, (
        ("ok", "host", "a step that passes", suite.Command([sys.executable, "-c", "print('fine')"])),
        ("bad", "engine", "a step that fails", suite.Command([sys.executable, "-c",
                                                              "import sys; print('boom'); sys.exit(3)"])),
        ("why", "engine", "a step that says why", lambda step: step.why("the reason")),
    ))
    monkeypatch.setenv("LGTM_TEST_STEPS", "ok bad why nope")
    monkeypatch.setenv("LGTM_TEST_JOBS", "2")
    assert suite.main() == 1
    out = capsys.readouterr().out
    assert "(2 lanes)" in out and "summary: 1 passed, 3 failed" in out
    assert "PASS  " in out and "a step that passes" in out and "FAIL  0s  unknown step nope" in out
    assert "a step that fails (exit 3)" in out and "        boom" in out
    assert "        the reason" in out and "(whole output: %s)" % (logs / "why.log") in out
    assert (logs / "ok.log").read_text().endswith("fine\n") and "boom" in (logs / "bad.log").read_text()
    # The host lane's output is printed in one block when its step ends.
    assert "==> output of: a step that passes" in out


def test_one_lane_when_asked_and_pytest_failures_are_the_reason(logs, monkeypatch, capsys):
    def fake_pytest(step):
        step.write("....F\n=========== short test summary info ===========\nFAILED tests/x.py::test_y - AssertionError\n")
        return 1

    _steps(monkeypatch, (("p", "engine", "pytest", fake_pytest), ("h", "host", "host", lambda step: 0)))
    monkeypatch.setenv("LGTM_TEST_STEPS", "p h")
    monkeypatch.setenv("LGTM_TEST_JOBS", "1")
    assert suite.main() == 1
    out = capsys.readouterr().out
    assert "(1 lane)" in out and "        FAILED tests/x.py::test_y - AssertionError" in out
    assert "summary: 1 passed, 1 failed" in out


def test_a_step_that_raises_fails_alone(logs, monkeypatch, capsys):
    _steps(monkeypatch, (("r", "host", "raises", lambda step: 1 / 0), ("ok", "host", "fine", lambda step: 0)))
    monkeypatch.setenv("LGTM_TEST_STEPS", "r ok")
    assert suite.main() == 1
    out = capsys.readouterr().out
    assert "the step raised ZeroDivisionError" in out and "summary: 1 passed, 1 failed" in out


def test_the_real_steps_are_known_and_the_version_comes_from_galaxy_yml():
    names = [s[0] for s in suite.STEPS]
    assert len(names) == len(set(names)) and {s[1] for s in suite.STEPS} == {"host", "engine", "engine-b"}
    # Nothing in the host lane may touch the engine: the engine lane proves that runs change nothing there.
    host = ["unit", "yamllint", "ansible-lint", "docs", "build", "collection-list", "sanity"]
    assert [s[0] for s in suite.STEPS if s[1] == "host"] == host
    # The second engine lane: its tests name every compose project lgtm-par-* (the other lane's snapshots leave
    # those out) and take no engine snapshot themselves.
    lane_b = [s for s in suite.STEPS if s[1] == "engine-b"]
    assert [s[0] for s in lane_b] == ["go", "projects", "fixtures", "object-store", "molecule-b"]
    for path in [p for step in lane_b if hasattr(step[3], "argv") for p in step[3].argv[6:] if p.endswith(".py")]:
        text = (suite.ROOT / path).read_text()
        # No engine-wide snapshot: at most one of its own projects (engine_state(PREFIX), PREFIX lgtm-par-...).
        assert "unchanged" not in text and "engine_state()" not in text, path
        assert "lgtm-par-" in text or "example_copy" in text, path
    assert "lgtm-par-" in (suite.ROOT / "tests/go/test_go_sdk.py").read_text()
    # The molecule scenarios of that lane: every name lgtm-par-*, every VOLUME of their images a named volume (an
    # anonymous one has no compose label, so the other lane's snapshots would count it), no snapshot.
    for scenario in suite.LANE_B_SCENARIOS:
        variables = (suite.ROOT / "molecule" / scenario / "vars" / "main.yml").read_text()
        assert re.search(r"^lgtm_test_project_name: lgtm-par-", variables, re.M), scenario
        assert re.search(r"^lgtm_test_network: lgtm-par-", variables, re.M), scenario
        texts = "".join(p.read_text() for p in (suite.ROOT / "molecule" / scenario).rglob("*") if p.is_file())
        assert "snapshot.py" not in texts, scenario
        assert "redis-data:/data" in texts and "mysql-data:/var/lib/mysql" in texts, scenario
    version = suite.collection_version()
    assert suite.tarball().name == "lgtm-stack-%s.tar.gz" % version and version.count(".") == 2


def test_empty_variables_count_as_unset_and_a_step_asked_twice_runs_once(monkeypatch):
    monkeypatch.setenv("LGTM_TEST_STEPS", "")
    assert [s[0] for s in suite.selected()[0]] == suite.NAMES
    monkeypatch.setenv("LGTM_TEST_STEPS", "unit yamllint unit")
    assert [s[0] for s in suite.selected()[0]] == ["unit", "yamllint"]
    monkeypatch.setenv("LGTM_TEST_JOBS", "two")
    assert suite.jobs() == 1
    monkeypatch.setenv("LGTM_TEST_JOBS", "")
    assert suite.jobs() >= 1


def test_an_interrupt_stops_the_lanes_and_still_gives_the_summary(logs, monkeypatch, capsys):
    import threading

    started = threading.Event()

    def long_step(step):
        started.set()
        return step.sh([sys.executable, "-c", "import time; time.sleep(60)"])

    def interrupt_soon(step):
        started.wait(10)
        suite.interrupt()
        return 0

    _steps(monkeypatch, (("long", "engine", "sleeps", long_step), ("stop", "host", "interrupts", interrupt_soon),
                         ("after", "engine", "never runs", lambda step: 0)))
    monkeypatch.setattr(suite, "STOP", threading.Event())
    monkeypatch.setenv("LGTM_TEST_STEPS", "long stop after")
    monkeypatch.setenv("LGTM_TEST_JOBS", "2")
    assert suite.main() == 130
    out = capsys.readouterr().out
    assert "never runs (not run: interrupted)" in out and re.search(r"sleeps \(exit -?[1-9][0-9]*\)", out)


def test_a_log_that_is_not_utf8_is_shown_not_fatal(logs, monkeypatch, capsys):
    code = "import sys; sys.stdout.buffer.write(b'\\xff\\xfe bad')"
    _steps(monkeypatch, (("bin", "host", "prints bytes", suite.Command([sys.executable, "-c", code])),
                         ("ok", "host", "fine", lambda step: 0)))
    monkeypatch.setenv("LGTM_TEST_STEPS", "bin ok")
    assert suite.main() == 0
    assert "bad" in capsys.readouterr().out
