#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: s3_bucket
short_description: Make sure a bucket exists in an S3-compatible object store, with the backends' credentials
version_added: 0.2.0
description:
  - Checks (C(HEAD)) and, when missing, creates (C(PUT)) a bucket with a path-style, Signature Version 4 request,
    signed with the credentials of an AWS shared credentials file - the file Tempo, Loki and Mimir read. A refusal
    of those credentials fails the task before any backend starts on them (Tempo does not start without its bucket).
  - The secret key is read on the docker host and never returned or logged.
  - Path-style requests only (C(https://endpoint/bucket)), as MinIO, Ceph, SeaweedFS and AWS S3 serve them; a store
    that serves virtual-hosted buckets only is not supported.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  endpoint:
    description: The object store, C(host:port) without a scheme (as in the backends' configuration).
    type: str
    required: true
  bucket:
    description: The bucket.
    type: str
    required: true
  region:
    description: The region the requests are signed for (and the bucket is created in).
    type: str
    default: us-east-1
  insecure:
    description: Plain HTTP instead of HTTPS.
    type: bool
    default: false
  credentials_file:
    description: AWS shared credentials file (INI) on the docker host.
    type: path
    required: true
  profile:
    description: Profile of the file.
    type: str
    default: default
  create:
    description: Create the bucket when it is missing (V(false) only reports it).
    type: bool
    default: true
  validate_certs:
    description: Check the store's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: CA bundle for the store's certificate.
    type: path
attributes:
  check_mode:
    support: full
    description: Only checks; reports C(changed) when the bucket would be created.
  diff_mode:
    support: full
    description: The bucket's state before and after.
  idempotent:
    support: full
    description: An existing bucket is left as it is.
"""

EXAMPLES = r"""
- name: Tempo's bucket
  lgtm.stack.s3_bucket:
    endpoint: minio.internal:9000
    bucket: shop-traces
    insecure: true
    credentials_file: /etc/lgtm/s3.credentials
"""

RETURN = r"""
state:
  description: V(exists), V(created), or V(missing) (check mode, or O(create=false)).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.lgtm.stack.plugins.module_utils import s3


def requester(module):
    def request(method, url, headers, body):
        try:
            response = open_url(url, data=body, method=method, headers=headers, timeout=30,
                                validate_certs=module.params["validate_certs"], ca_path=module.params["ca_path"])
            return response.getcode(), response.read().decode("utf-8", "replace")
        except Exception as exc:  # noqa: BLE001 - HTTPError carries the code; the rest are unreachable
            code = getattr(exc, "code", None)
            if code is None:
                raise s3.S3Error("%s %s: the object store cannot be reached (%s)" % (method, url, exc))
            body = exc.read().decode("utf-8", "replace") if hasattr(exc, "read") else ""
            return code, body
    return request


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoint=dict(type="str", required=True),
            bucket=dict(type="str", required=True),
            region=dict(type="str", default="us-east-1"),
            insecure=dict(type="bool", default=False),
            credentials_file=dict(type="path", required=True),
            profile=dict(type="str", default="default"),
            create=dict(type="bool", default=True),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        credentials = s3.read_credentials(p["credentials_file"], p["profile"])
        module.no_log_values.update(c for c in credentials[1:] if c)
        state = s3.ensure_bucket(requester(module), p["endpoint"], p["bucket"], p["region"], credentials,
                                 insecure=p["insecure"], create=p["create"] and not module.check_mode)
    except s3.S3Error as exc:
        module.fail_json(msg="s3_bucket: %s" % exc)
    changed = state == "created" or (state == "missing" and module.check_mode and p["create"])
    result = dict(changed=changed, state=state)
    if module._diff:
        result["diff"] = {"before": "bucket %s: %s\n" % (p["bucket"], "exists" if state == "exists" else "absent"),
                          "after": "bucket %s: %s\n" % (p["bucket"], "absent" if state == "missing" and not changed
                                                        else "exists")}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
