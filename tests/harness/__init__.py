"""Test harness for lgtm.stack: a local Docker host and the images tests run on."""
