"""One definition of a pinned image, used by every role's preflight."""

import pytest

from ansible_collections.lgtm.stack.plugins.test.pinned_image import pinned_image

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(("ref", "pinned"), [
    ("grafana/tempo:3.0.3", True), ("grafana/alloy:v1.18.1", True), ("registry.local:5000/ns/app:1.2", True),
    ("lgtm-test/standin/tempo:orchestration-only", True), ("app@" + DIGEST, True), ("app:1.0@" + DIGEST, True),
    ("grafana/tempo", False), ("grafana/tempo:latest", False), ("registry.local:5000/app", False),
    ("app@sha256:abc", False), ("app:", False), ("app:bad tag", False), ("", False), (None, False), (3, False),
])
def test_pinned_image(ref, pinned):
    assert pinned_image(ref) is pinned
