#!/usr/bin/env python3
"""Write docs/findings.md from the finding registry (plugins/module_utils/findings.py)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.lgtm.stack.plugins.module_utils.findings import render_markdown  # noqa: E402

if __name__ == "__main__":
    path = os.path.join(ROOT, "docs", "findings.md")
    with open(path, "w") as handle:
        handle.write(render_markdown())
    print("wrote %s" % os.path.relpath(path, ROOT))
