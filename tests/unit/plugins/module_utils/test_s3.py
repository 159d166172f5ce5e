"""s3.py: credentials file, request signing shape, bucket logic (the signature itself is checked by a real
S3-API server in tests/integration/test_s3_bucket.py)."""

import time

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import s3

CREDS = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)


def test_credentials_file(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n\n[ci]\n"
                    "aws_access_key_id=AK2\naws_secret_access_key=SK2\naws_session_token=TOK\n")
    assert s3.read_credentials(str(path)) == ("AK", "SK", None)
    assert s3.read_credentials(str(path), "ci") == ("AK2", "SK2", "TOK")
    with pytest.raises(s3.S3Error, match="has no \\[prod\\] profile"):
        s3.read_credentials(str(path), "prod")
    path.write_text("aws_access_key_id = AK\n")
    with pytest.raises(s3.S3Error, match="not an AWS shared credentials file"):
        s3.read_credentials(str(path))
    with pytest.raises(s3.S3Error, match="cannot be read"):
        s3.read_credentials(str(tmp_path / "missing"))


def test_signed_headers_shape_and_determinism():
    now = time.strptime("20130524T000000Z", "%Y%m%dT%H%M%SZ")
    headers = s3.signed_headers("HEAD", "s3.internal:9000", "/shop-traces", "us-east-1", CREDS, now=now)
    assert headers["x-amz-date"] == "20130524T000000Z" and headers["host"] == "s3.internal:9000"
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=")
    assert auth == s3.signed_headers("HEAD", "s3.internal:9000", "/shop-traces", "us-east-1", CREDS,
                                     now=now)["Authorization"]
    other = s3.signed_headers("HEAD", "s3.internal:9000", "/shop-traces", "eu-west-1", CREDS, now=now)
    assert other["Authorization"] != auth and CREDS[1] not in repr(headers)
    token = s3.signed_headers("PUT", "h", "/b", "us-east-1", CREDS[:2] + ("TOK",), now=now)
    assert token["x-amz-security-token"] == "TOK" and "x-amz-security-token" in token["Authorization"]


def test_ensure_bucket_paths():
    calls = []

    def server(answers):
        def request(method, url, headers, body):
            calls.append((method, url, body))
            return answers.pop(0)
        return request

    assert s3.ensure_bucket(server([(200, "")]), "h:9000", "b1", "us-east-1", CREDS) == "exists"
    assert s3.ensure_bucket(server([(404, ""), (200, "")]), "h:9000", "b1", "eu-west-1", CREDS,
                            insecure=True) == "created"
    assert calls[-1][0] == "PUT" and calls[-1][1] == "http://h:9000/b1" and b"eu-west-1" in calls[-1][2]
    assert s3.ensure_bucket(server([(404, "")]), "h:9000", "b1", "us-east-1", CREDS, create=False) == "missing"
    with pytest.raises(s3.S3Error, match="refused the credentials"):
        s3.ensure_bucket(server([(403, "")]), "h:9000", "b1", "us-east-1", CREDS)
    with pytest.raises(s3.S3Error, match="SignatureDoesNotMatch"):
        s3.ensure_bucket(server([(404, ""), (403, "<Error><Code>SignatureDoesNotMatch</Code></Error>")]),
                         "h:9000", "b1", "us-east-1", CREDS)
    assert s3.create_body("us-east-1") == b""
