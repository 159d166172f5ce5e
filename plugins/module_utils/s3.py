# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal S3 client for one job: make sure a bucket exists, with the credentials the backends will use.

Path-style requests (``http(s)://endpoint/bucket``), AWS Signature Version 4 (the algorithm of the AWS General
Reference, "Signature Version 4 signing process": canonical request, string to sign, HMAC-SHA256 key derivation
over date, region, service and ``aws4_request``). Credentials come from an AWS shared credentials file (INI,
``aws_access_key_id`` / ``aws_secret_access_key`` / optional ``aws_session_token`` in a profile), the same file
Tempo, Loki and Mimir read through ``AWS_SHARED_CREDENTIALS_FILE``. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import time

try:
    from configparser import ConfigParser, Error as ConfigError
except ImportError:  # pragma: no cover - Python 2
    from ConfigParser import ConfigParser, Error as ConfigError  # noqa: F401

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # noqa: F401

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(Exception):
    """A failure with a sentence that names what to fix (never a secret)."""


def read_credentials(path, profile="default"):
    """(access key, secret key, session token or None) of `profile` in an AWS shared credentials file."""
    parser = ConfigParser()
    try:
        with open(path) as handle:
            parser.read_file(handle)
    except (IOError, OSError) as exc:
        raise S3Error("%s: cannot be read (%s)" % (path, exc.strerror or exc))
    except ConfigError as exc:
        raise S3Error("%s: not an AWS shared credentials file (INI): %s" % (path, exc.__class__.__name__))
    if not parser.has_section(profile):
        raise S3Error("%s has no [%s] profile" % (path, profile))
    section = dict(parser.items(profile))
    access, secret = section.get("aws_access_key_id", "").strip(), section.get("aws_secret_access_key", "").strip()
    if not access or not secret:
        raise S3Error("%s: profile [%s] needs aws_access_key_id and aws_secret_access_key" % (path, profile))
    return access, secret, section.get("aws_session_token", "").strip() or None


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signed_headers(method, host, path, region, credentials, payload_hash=EMPTY_SHA256, now=None, service="s3"):
    """The headers of a SigV4-signed request with no query string (Authorization, x-amz-date, ...)."""
    access, secret, token = credentials
    now = now or time.gmtime()
    amz_date, day = time.strftime("%Y%m%dT%H%M%SZ", now), time.strftime("%Y%m%d", now)
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    if token:
        headers["x-amz-security-token"] = token
    names = sorted(headers)
    canonical = "\n".join([method, quote(path, safe="/-_.~"), "",
                           "".join("%s:%s\n" % (n, headers[n].strip()) for n in names),
                           ";".join(names), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode("utf-8"), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out = dict(headers)
    out["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access, scope, ";".join(names), signature)
    return out


def create_body(region):
    """CreateBucketConfiguration for a region other than us-east-1 (which takes none)."""
    if region in ("", "us-east-1"):
        return b""
    return ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>%s"
            "</LocationConstraint></CreateBucketConfiguration>" % region).encode("utf-8")


def ensure_bucket(request, endpoint, bucket, region, credentials, insecure=False, create=True):
    """'exists', 'created' or 'missing' (create False); raises S3Error on a refusal.

    `request(method, url, headers, body)` -> (status, body text): the caller's HTTP client."""
    scheme = "http" if insecure else "https"
    path = "/" + bucket
    url = "%s://%s%s" % (scheme, endpoint, path)
    status, text = request("HEAD", url, signed_headers("HEAD", endpoint, path, region, credentials), None)
    if status == 200:
        return "exists"
    if status in (401, 403):
        raise S3Error("the object store at %s refused the credentials for bucket %s (HTTP %d): check the access "
                      "key, the secret and the region" % (endpoint, bucket, status))
    if status != 404:
        raise S3Error("HEAD %s answered HTTP %s: %s" % (url, status, (text or "")[:200]))
    if not create:
        return "missing"
    body = create_body(region)
    headers = signed_headers("PUT", endpoint, path, region, credentials, hashlib.sha256(body).hexdigest())
    status, text = request("PUT", url, headers, body)
    if status in (401, 403):
        raise S3Error("the object store at %s refused to create bucket %s with these credentials (HTTP %d): %s"
                      % (endpoint, bucket, status, _code(text)))
    if status not in (200, 204):
        raise S3Error("creating bucket %s at %s answered HTTP %s: %s" % (bucket, endpoint, status, _code(text)))
    return "created"


def _code(text):
    """The <Code> of an S3 error document (the message may quote request details, never the secret)."""
    text = text or ""
    start = text.find("<Code>")
    if start < 0:
        return text[:200]
    return text[start + 6:text.find("</Code>", start)]
