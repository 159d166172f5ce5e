# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3-compatible object storage for the stack's Tempo, Loki and Mimir (instead of their volumes).

Settings (shared knob ``lgtm_object_storage``, or each role's ``lgtm_<component>_object_storage``)::

    endpoint: s3.internal:9000          # host:port, no scheme
    region: us-east-1
    insecure: false                     # true: plain HTTP
    path_style: true                    # path-style addressing (MinIO, Ceph, SeaweedFS...)
    credentials_file: /etc/lgtm/s3.credentials   # AWS shared credentials file on the docker host
    buckets: {tempo: traces, loki: logs, mimir: metrics}   # or `bucket` in a role's own settings
    create_bucket: false                # true: the role creates a missing bucket (s3_bucket, from the docker host)

The keys written follow each pinned version's storage block (tests/unit/roles/backend_config_facts.yml records
the source of every one). None of the three has a ``*_file`` option for the secret key, so credentials never go in
the configuration: the file is mounted read-only and ``AWS_SHARED_CREDENTIALS_FILE`` points at it, which Tempo
(minio-go chain: static, env, shared credentials file, ...) and Mimir (env, shared credentials file, IAM) read
when their access keys are empty; Loki 3.7's S3 client falls back to the AWS default chain as well.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import plain

COMPONENTS = ("tempo", "loki", "mimir")
KEYS = ("endpoint", "region", "insecure", "path_style", "credentials_file", "bucket", "buckets", "create_bucket")
CREDENTIALS_PATH = "/etc/lgtm-s3/credentials"
CREDENTIALS_ENV = "AWS_SHARED_CREDENTIALS_FILE"
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ObjectStorageError(ValueError):
    """Settings that cannot be used; the message names the key."""


def normalise(settings, component, source=None):
    """{endpoint, bucket, region, insecure, path_style, credentials_file} or {} when object storage is off."""
    source = source or "lgtm_%s_object_storage" % component
    settings = settings or {}
    if not isinstance(settings, dict):
        raise ObjectStorageError("%s must be a mapping" % source)
    if not settings:
        return {}
    if any(k in settings for k in ("access_key", "secret_key", "access_key_id", "secret_access_key")):
        raise ObjectStorageError("%s: credentials only from credentials_file (an AWS shared credentials file), never "
                                 "keys in variables" % source)
    unknown = sorted(str(k) for k in settings if k not in KEYS)
    if unknown:
        raise ObjectStorageError("%s: unknown key(s) %s (known: %s)" % (source, ", ".join(unknown), ", ".join(KEYS)))
    endpoint = str(settings.get("endpoint") or "")
    if not _HOST_PORT.match(endpoint):
        raise ObjectStorageError("%s.endpoint must be host or host:port without a scheme, got %r" % (source, endpoint))
    bucket = settings.get("bucket") or (settings.get("buckets") or {}).get(component)
    if not bucket or not _BUCKET.match(str(bucket)):
        raise ObjectStorageError("%s: the %s bucket (bucket, or buckets.%s) must be an S3 bucket name, got %r"
                                 % (source, component, component, bucket))
    out = {"endpoint": endpoint, "bucket": str(bucket), "region": str(settings.get("region") or "us-east-1"),
           "insecure": bool(settings.get("insecure", False)), "path_style": bool(settings.get("path_style", True)),
           "credentials_file": "", "create_bucket": bool(settings.get("create_bucket", False))}
    if settings.get("credentials_file"):
        path = str(settings["credentials_file"])
        if not posixpath.isabs(path):
            raise ObjectStorageError("%s.credentials_file must be an absolute path on the docker host, got %r"
                                     % (source, path))
        out["credentials_file"] = posixpath.normpath(path)
    if out["create_bucket"] and not out["credentials_file"]:
        raise ObjectStorageError("%s: create_bucket needs credentials_file" % source)
    return out


def _tempo(config, s3):
    trace = config["storage"]["trace"]
    trace.pop("local", None)
    trace["backend"] = "s3"
    trace["s3"] = {"bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
                   "insecure": s3["insecure"], "forcepathstyle": s3["path_style"]}


def _loki(config, s3):
    config["common"]["storage"] = {"s3": {"endpoint": s3["endpoint"], "bucketnames": s3["bucket"],
                                          "region": s3["region"], "insecure": s3["insecure"],
                                          "s3forcepathstyle": s3["path_style"]}}
    for period in config["schema_config"]["configs"]:
        period["object_store"] = "s3"
    config["compactor"]["delete_request_store"] = "s3"


def _mimir(config, s3):
    config["common"] = dict(config.get("common") or {}, storage={
        "backend": "s3", "s3": {"endpoint": s3["endpoint"], "bucket_name": s3["bucket"], "region": s3["region"],
                                "insecure": s3["insecure"],
                                "bucket_lookup_type": "path" if s3["path_style"] else "auto"}})
    for key in ("backend", "filesystem"):
        config["blocks_storage"].pop(key, None)
    # One bucket for all three stores: Mimir refuses ruler or alertmanager storage with the same backend, bucket
    # and storage_prefix as the blocks storage; distinct prefixes (letters and digits) keep them apart.
    if (config.get("ruler_storage") or {}).get("backend") != "local":  # carried rule files stay local
        config["ruler_storage"] = {"storage_prefix": "ruler"}
    config["alertmanager_storage"] = {"storage_prefix": "alertmanager"}


APPLY = {"tempo": _tempo, "loki": _loki, "mimir": _mimir}


def apply(config, component, s3):
    """The component's configuration with its storage in the bucket (unchanged when `s3` is empty)."""
    if not s3:
        return config
    out = plain(config)
    APPLY[component](out, s3)
    return out
