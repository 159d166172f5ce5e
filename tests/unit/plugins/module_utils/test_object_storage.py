"""Object storage for Tempo, Loki and Mimir: settings, the storage blocks written, credentials only as a file."""

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.module_utils import object_storage as OS

SETTINGS = {"endpoint": "minio.internal:9000", "insecure": True, "credentials_file": "/etc/lgtm/s3.credentials",
            "buckets": {"tempo": "shop-traces", "loki": "shop-logs", "mimir": "shop-metrics"}}


def test_settings_are_completed_per_component():
    s3 = OS.normalise(SETTINGS, "loki")
    assert s3 == {"endpoint": "minio.internal:9000", "bucket": "shop-logs", "region": "us-east-1", "insecure": True,
                  "path_style": True, "credentials_file": "/etc/lgtm/s3.credentials", "create_bucket": False}
    assert OS.normalise({}, "tempo") == {} and OS.normalise(None, "mimir") == {}
    assert OS.normalise(dict(SETTINGS, bucket="one-bucket"), "mimir")["bucket"] == "one-bucket"


@pytest.mark.parametrize("change, message", [
    ({"endpoint": "https://minio:9000"}, "endpoint must be host or host:port without a scheme"),
    ({"buckets": {"tempo": "x"}}, "the loki bucket (bucket, or buckets.loki) must be an S3 bucket name"),
    ({"secret_access_key": "k"}, "credentials only from credentials_file"),
    ({"credentials_file": "s3.credentials"}, "must be an absolute path"),
    ({"bucket_name": "x"}, "unknown key(s) bucket_name"),
])
def test_bad_settings_name_the_key(change, message):
    with pytest.raises(OS.ObjectStorageError) as err:
        OS.normalise(dict(SETTINGS, **change), "loki")
    assert message in str(err.value) and "lgtm_loki_object_storage" in str(err.value)
