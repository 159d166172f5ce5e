"""lgtm.stack.s3_bucket against a real S3-API server that stores on disk: bucket creation, idempotence, check mode,
and credentials (a wrong secret is refused by the server's Signature V4 check, and the task says so without the
secret).

The server is npm's @20minutes/s3rver 5.0.0 (tests/harness/s3rver: package-lock, run.js), installed with `npm ci`
into .work/s3rver. Why this one: MinIO, SeaweedFS and Garage are not packaged in the registries this suite may use
(PyPI, Debian, npm), Debian bookworm's rclone (1.60) predates `rclone serve s3` (1.65), moto keeps objects in
memory, and the original `s3rver` 3.7 accepts any secret; this fork stores objects as files and checks SigV4 for
the key pairs it is given (it also accepts unsigned requests: the test asserts a refusal, never that a signature
was required). It listens on 127.0.0.1 only and is stopped by its PID.
"""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.integration.conftest import ROOT

HARNESS = ROOT / "tests" / "harness" / "s3rver"
INSTALL = ROOT / ".work" / "s3rver"
ACCESS, SECRET = "lgtmshop", "s3cr3t-shop-Key"


def _install():
    """npm ci of the pinned server into .work/s3rver (reused while the lock file is the same)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("LGTM_REQUIRE_S3RVER") == "1":
            pytest.fail("node and npm are needed for the object-store test (scripts/test.sh installs them)")
        pytest.skip("node/npm not installed")
    INSTALL.mkdir(parents=True, exist_ok=True)
    lock = (HARNESS / "package-lock.json").read_bytes()
    if not (INSTALL / "node_modules" / "@20minutes" / "s3rver").is_dir() or \
            (INSTALL / "package-lock.json").read_bytes() != lock:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(str(HARNESS / name), str(INSTALL / name))
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=str(INSTALL), check=True,
                       capture_output=True, timeout=300)
    shutil.copy(str(HARNESS / "run.js"), str(INSTALL / "run.js"))


@pytest.fixture
def store(tmp_path):
    _install()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "s3-data"
    data.mkdir()
    log = open(str(tmp_path / "s3rver.log"), "w")
    proc = subprocess.Popen(["node", "run.js", str(port), str(data), ACCESS, SECRET], cwd=str(INSTALL),
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, (tmp_path / "s3rver.log").read_text()
            time.sleep(0.2)
        yield {"endpoint": "127.0.0.1:%d" % port, "data": data}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def credentials(path, secret=SECRET):
    path.write_text("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (ACCESS, secret))
    os.chmod(str(path), 0o600)
    return str(path)


def module(args, check=False):
    """Run the module the way Ansible does (ansible localhost -m), return (rc, result)."""
    argv = ["ansible", "localhost", "-m", "lgtm.stack.s3_bucket", "-a", json.dumps(args), "-o"]
    if check:
        argv.append("--check")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=120)
    out = proc.stdout + proc.stderr
    return proc.returncode, out


def test_bucket_is_created_once_and_stored_on_disk(store, tmp_path):
    args = {"endpoint": store["endpoint"], "bucket": "shop-traces", "insecure": True,
            "credentials_file": credentials(tmp_path / "s3.credentials")}
    rc, out = module(args, check=True)
    assert rc == 0 and '"changed": true' in out and '"state": "missing"' in out, out
    assert not (store["data"] / "shop-traces").exists(), "check mode creates nothing"
    rc, out = module(args)
    assert rc == 0 and '"changed": true' in out and '"state": "created"' in out, out
    assert (store["data"] / "shop-traces").is_dir(), "the server stores the bucket on disk"
    rc, out = module(args)
    assert rc == 0 and '"changed": false' in out and '"state": "exists"' in out, out
    assert SECRET not in out


def test_a_wrong_secret_is_refused_and_not_shown(store, tmp_path):
    args = {"endpoint": store["endpoint"], "bucket": "shop-logs", "insecure": True,
            "credentials_file": credentials(tmp_path / "wrong.credentials", secret="not-the-secret")}
    rc, out = module(args)
    assert rc != 0 and "refused" in out and "HTTP 403" in out, out
    assert "not-the-secret" not in out
    assert not (store["data"] / "shop-logs").exists()


def test_a_file_without_the_profile_is_named(tmp_path):
    path = tmp_path / "empty.credentials"
    path.write_text("[other]\naws_access_key_id = x\n")
    rc, out = module({"endpoint": "127.0.0.1:9", "bucket": "shop-metrics", "insecure": True,
                      "credentials_file": str(path)})
    assert rc != 0 and "%s has no [default] profile" % path in out, out


def test_a_migration_keeps_the_backends_data_in_buckets_it_creates(store, tmp_path):
    """migrate.yml with lgtm_object_storage on the real engine (orchestration stand-ins for Tempo/Loki/Mimir, which
    never talk to the store here): the roles create the three buckets with the credentials file, write the
    storage blocks, mount the file read-only and point AWS_SHARED_CREDENTIALS_FILE at it; a second run changes
    nothing; the secret is in no file the run wrote and in no output."""
    from tests.integration.conftest import run_migrate
    from tests.integration.test_two_projects import HOST_PORT_VARS, example_copy, free_ports, stack_vars, teardown

    project_name = "lgtm-par-s3"
    teardown(project_name)
    try:
        target = tmp_path / "shop"
        example_copy(target, project_name)
        creds = credentials(tmp_path / "s3.credentials")
        os.chmod(creds, 0o644)
        data = stack_vars()
        data.update({"lgtm_alloy_jaeger_receivers": [],
                     "lgtm_object_storage": {"endpoint": store["endpoint"], "insecure": True, "credentials_file": creds,
                                             "create_bucket": True,
                                             "buckets": {"tempo": "shop-traces", "loki": "shop-logs",
                                                         "mimir": "shop-metrics"}}})
        data.update(zip(HOST_PORT_VARS, free_ports(len(HOST_PORT_VARS))))
        varsfile = tmp_path / "vars.json"
        varsfile.write_text(json.dumps(data))
        rc, out = run_migrate(target, "-e", "@%s" % varsfile)
        assert rc == 0, out[-4000:]
        assert SECRET not in out
        for bucket in ("shop-traces", "shop-logs", "shop-metrics"):
            assert (store["data"] / bucket).is_dir(), bucket
        import yaml

        stack = target / "observability"
        tempo = yaml.safe_load((stack / "tempo" / "tempo.yaml").read_text())
        assert tempo["storage"]["trace"]["backend"] == "s3"
        assert tempo["storage"]["trace"]["s3"]["bucket"] == "shop-traces"
        loki = yaml.safe_load((stack / "loki" / "loki.yaml").read_text())
        assert loki["common"]["storage"]["s3"]["bucketnames"] == "shop-logs"
        mimir = yaml.safe_load((stack / "mimir" / "mimir.yaml").read_text())
        assert mimir["common"]["storage"]["s3"]["bucket_name"] == "shop-metrics"
        for component in ("tempo", "loki", "mimir"):
            compose = yaml.safe_load((stack / component / "compose.yaml").read_text())["services"][component]
            assert "%s:/etc/lgtm-s3/credentials:ro" % creds in compose["volumes"]
            assert compose["environment"]["AWS_SHARED_CREDENTIALS_FILE"] == "/etc/lgtm-s3/credentials"
        for path in stack.rglob("*"):
            if path.is_file():
                assert SECRET not in path.read_text(errors="replace"), path
        rc, out = run_migrate(target, "-e", "@%s" % varsfile)
        assert rc == 0 and " changed=0 " in " ".join(out.split()), out[-3000:]
    finally:
        teardown(project_name)
