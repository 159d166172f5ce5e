"""One definition of a Prometheus duration, used by the loki and mimir preflights for their retention periods."""

import pytest

from ansible_collections.lgtm.stack.plugins.test.prometheus_duration import prometheus_duration


@pytest.mark.parametrize(("value", "accepted"), [
    ("168h", True), ("7d", True), ("15d", True), ("1w2d", True), ("1y", True), ("0s", True), ("0", True), (0, True),
    ("1h30m", True), ("500ms", True), ("2d12h", True),
    ("", False), ("7 days", False), ("1.5d", False), ("1h1d", False), ("1h1h", False), ("10us", False),
    ("-1h", False), ("168", False), (168, False), (1.5, False), (True, False), (None, False), (["1h"], False),
])
def test_prometheus_duration(value, accepted):
    assert prometheus_duration(value) is accepted


def test_the_roles_use_it_for_their_retention():
    from pathlib import Path

    roles = Path(__file__).resolve().parents[4] / "roles"
    for role, var in (("loki", "lgtm_loki_retention_period"), ("mimir", "lgtm_mimir_retention_period")):
        assert "%s is lgtm.stack.prometheus_duration" % var in (roles / role / "tasks" / "preflight.yml").read_text()
