"""rclone and s3cmd against a real server: sync a tree up, overwrite a file, delete one, sync it
back down, and check both sides agree; neither client may print an ERROR line.

rclone is a Debian package (``apt-get install -y rclone``; .ci/run installs it): the rclone test
skips, saying so, when it is absent. s3cmd comes with the test extra (pyproject.toml).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.server import REGION, Server
from tests.e2e.test_s3_support import bucket, root, s3_client

S3CMD = Path(sys.executable).parent / "s3cmd"


def make_tree(base: Path) -> dict[str, bytes]:
    """A small tree (nested folders, an empty file, a UTF-8 name, a few hundred KB); its files."""
    files = {
        "a.txt": b"first version\n",
        "empty": b"",
        "sub/b.bin": hashlib.sha256(b"seed").digest() * 12_000,
        "sub/deep/c.txt": b"deep\n",
        "sub/deep/gone.txt": b"to be deleted\n",
        "é and space.txt": b"unicode name\n",
    }
    for name, data in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def tree(base: Path) -> dict[str, bytes]:
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def remote(s3: Any, name: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=name, Prefix=prefix).get("Contents", [])
    return {
        o["Key"].removeprefix(prefix): s3.get_object(Bucket=name, Key=o["Key"])["Body"].read() for o in listed
    }


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run a client; it must succeed and print no ERROR line."""
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output}"
    assert not [line for line in output.splitlines() if "ERROR" in line], output
    return output


def exercise(sync: Any, server: Server, tmp_path: Path, versioned: bool = False) -> str:
    """Up, overwrite, delete, down: after each step the bucket holds exactly the local tree; the
    bucket's name. In a ``versioned`` bucket the overwritten and deleted files keep their earlier
    versions."""
    s3 = s3_client(server, root(server))
    name = bucket(server, root(server), prefix="clients")
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    local, down = tmp_path / "local", tmp_path / "down"
    files = make_tree(local)
    sync(str(local), name, "up")
    assert remote(s3, name, "tree/") == files
    (local / "a.txt").write_bytes(b"second, longer version\n")
    files["a.txt"] = b"second, longer version\n"
    sync(str(local), name, "up")
    assert remote(s3, name, "tree/") == files
    (local / "sub/deep/gone.txt").unlink()
    del files["sub/deep/gone.txt"]
    sync(str(local), name, "up")
    assert remote(s3, name, "tree/") == files
    down.mkdir()
    (down / "stale.txt").write_bytes(b"not in the bucket")
    sync(str(down), name, "down")
    assert tree(down) == files
    if versioned:
        listed = s3.list_object_versions(Bucket=name, Prefix="tree/")
        versions = [v["Key"] for v in listed["Versions"]]
        assert versions.count("tree/a.txt") == 2 and "tree/sub/deep/gone.txt" in versions
        assert [m["Key"] for m in listed["DeleteMarkers"]] == ["tree/sub/deep/gone.txt"]
    return name


def rclone_env(server: Server, tmp_path: Path) -> dict[str, str]:
    key = root(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(
        {
            "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),  # none: the remote comes from here
            "RCLONE_CONFIG_MONBAN_TYPE": "s3",
            "RCLONE_CONFIG_MONBAN_PROVIDER": "Other",
            "RCLONE_CONFIG_MONBAN_ACCESS_KEY_ID": key[0],
            "RCLONE_CONFIG_MONBAN_SECRET_ACCESS_KEY": key[1],
            "RCLONE_CONFIG_MONBAN_ENDPOINT": server.endpoint,
            "RCLONE_CONFIG_MONBAN_REGION": REGION,
            "RCLONE_CONFIG_MONBAN_FORCE_PATH_STYLE": "true",
        }
    )
    return env


def test_rclone_sync_up_and_down(server: Server, tmp_path: Path) -> None:
    exe = shutil.which("rclone")
    if exe is None:
        pytest.skip("rclone is not installed (Debian: apt-get install -y rclone; .ci/run installs it)")
    env = rclone_env(server, tmp_path)
    flags = ["--retries", "1", "--low-level-retries", "1", "-v"]

    def sync(local: str, name: str, direction: str) -> None:
        ends = [local, f"monban:{name}/tree"] if direction == "up" else [f"monban:{name}/tree", local]
        run([exe, "sync", *ends, *flags], env)
        run([exe, "check", *ends, *flags], env)

    name = exercise(sync, server, tmp_path, versioned=True)
    run([exe, "purge", f"monban:{name}/tree", *flags], env)
    assert remote(s3_client(server, root(server)), name, "tree/") == {}


def s3cmd_config(server: Server, tmp_path: Path) -> Path:
    key = root(server)
    host = urlsplit(server.endpoint).netloc
    config = tmp_path / "s3cmd.cfg"
    config.write_text(
        "[default]\n"
        f"access_key = {key[0]}\nsecret_key = {key[1]}\n"
        f"host_base = {host}\nhost_bucket = {host}\n"  # no %(bucket)s: path-style requests
        f"bucket_location = {REGION}\nuse_https = False\nsignature_v2 = False\n"
    )
    return config


def test_s3cmd_sync_up_and_down(server: Server, tmp_path: Path) -> None:
    config = s3cmd_config(server, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def sync(local: str, name: str, direction: str) -> None:
        ends = [f"{local}/", f"s3://{name}/tree/"]
        command = [str(S3CMD), "-c", str(config), "sync", "--delete-removed", "--no-progress"]
        run([*command, *(ends if direction == "up" else ends[::-1])], env)

    name = exercise(sync, server, tmp_path)
    run([str(S3CMD), "-c", str(config), "del", "--recursive", "--force", f"s3://{name}/tree/"], env)
    assert remote(s3_client(server, root(server)), name, "tree/") == {}
