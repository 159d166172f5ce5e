"""Secrets never leave the analysis: keys, DSNs, URLs and command lines."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import redaction as R


@pytest.mark.parametrize(
    ("key", "secret"),
    [("MYSQL_PASSWORD", True), ("GF_SECURITY_ADMIN_PASSWORD", True), ("REDIS_PASS", True), ("API_KEY", True),
     ("GITHUB_TOKEN", True), ("CLIENT_SECRET", True), ("GF_SECURITY_ADMIN_PASSWORD__FILE", False),
     ("MYSQL_PASSWORD_FILE", False), ("GF_AUTH_ANONYMOUS_ENABLED", False), ("MYSQL_USER", False),
     ("OTEL_SERVICE_NAME", False), ("PASSENGER_COUNT", False)],
)
def test_is_secret_key(key, secret):
    assert R.is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("shop:pw@tcp(mysql:3306)/shop", "shop:********@tcp(mysql:3306)/shop"),
        ("redis://:pw@cache:6379/0", "redis://:********@cache:6379/0"),
        ("postgres://app:p%40ss@db:5432/app", "postgres://app:********@db:5432/app"),
        ("http://jaeger:4318", "http://jaeger:4318"),
        ("api:8080", "api:8080"),
    ],
)
def test_mask_userinfo(value, masked):
    assert R.mask_userinfo(value) == masked


def test_redact_mapping_reports_which_keys():
    redacted, keys = R.redact_mapping({"A_PASSWORD": "x1", "DSN": "u:p@tcp(h)/d", "PLAIN": "v", "EMPTY_TOKEN": "",
                                       "SECRET_FROM_FILE_PASSWORD": "/run/secrets/db", "UNSET": None})
    assert redacted == {"A_PASSWORD": R.MASK, "DSN": "u:%s@tcp(h)/d" % R.MASK, "PLAIN": "v", "EMPTY_TOKEN": "",
                        "SECRET_FROM_FILE_PASSWORD": "/run/secrets/db", "UNSET": None}
    assert sorted(keys) == ["A_PASSWORD", "DSN"]


def test_redact_argv():
    argv = ["redis-server", "--requirepass", "pw1", "--appendonly", "yes", "--mysqld.password=pw2",
            "--es.server-urls=http://u:pw3@es:9200"]
    assert R.redact_argv(argv) == ["redis-server", "--requirepass", R.MASK, "--appendonly", "yes",
                                   "--mysqld.password=" + R.MASK, "--es.server-urls=http://u:%s@es:9200" % R.MASK]


def test_redact_text_longest_first():
    assert R.redact_text("a pw and pwlong", ["pwlong", "pw"]) == "a pw and " + R.MASK
