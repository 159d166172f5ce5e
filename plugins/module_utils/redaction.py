# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep secrets out of module results, reports and diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
_SECRET_KEY = re.compile(r"(PASSW(OR)?D|PASSWD|PASS$|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)", re.I)
_SECRET_EXCLUDE = re.compile(r"(_FILE|_PATH|_USER(NAME)?|AUTH_?(ENABLED|TYPE|MODE|URL|HOST)|_ENABLED)$", re.I)
# user:password@ in URLs and Go/MySQL DSNs (user:pass@tcp(host:3306)/db).
_USERINFO = re.compile(r"(?P<pre>(?:^|[/\s,;=])[^:/@\s]*):(?P<pw>[^@/\s]+)@")


def is_secret_key(key):
    """True for environment/config keys that hold a secret value."""
    key = str(key)
    return bool(_SECRET_KEY.search(key)) and not _SECRET_EXCLUDE.search(key)


def mask_userinfo(value):
    """Mask the password of user:password@host in URLs and DSNs."""
    if not isinstance(value, str):
        return value
    return _USERINFO.sub(lambda m: "%s:%s@" % (m.group("pre"), MASK), value)


def redact_mapping(mapping):
    """Return a copy of an env-like mapping with secret values masked.

    Returns (redacted, secret_keys): secret_keys lists the keys whose value was
    masked because the key names a secret or the value embeds credentials.
    """
    redacted, secret_keys = {}, []
    for key, value in (mapping or {}).items():
        if value is None:
            redacted[key] = None
        elif is_secret_key(key) and str(value) != "" and not str(value).startswith("/run/secrets/"):
            redacted[key] = MASK
            secret_keys.append(key)
        else:
            masked = mask_userinfo(value)
            if masked != value:
                secret_keys.append(key)
            redacted[key] = masked
    return redacted, secret_keys


def redact_argv(argv):
    """Mask secret values in a command line: `--password=x`, `--requirepass x`, URLs with credentials."""
    out = []
    mask_next = False
    for arg in argv:
        arg = str(arg)
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        flag, sep, value = arg.partition("=")
        name = flag.lstrip("-").replace("-", "_").replace(".", "_")
        if flag.startswith("-") and is_secret_key(name):
            if sep:
                out.append("%s=%s" % (flag, MASK))
            else:
                out.append(arg)
                mask_next = True
            continue
        out.append(mask_userinfo(arg))
    return out


def redact_text(text, secrets):
    """Replace every known secret value (len >= 4) in free text."""
    for secret in sorted((s for s in secrets if s and len(str(s)) >= 4), key=len, reverse=True):
        text = text.replace(str(secret), MASK)
    return text
