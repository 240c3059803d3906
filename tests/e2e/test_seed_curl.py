"""The curl examples of seeds 000 (Simplism's registry mode), 001 (Run's registry docs) and 002
(Run's registry server README), run as written there against a real `wharf serve`: only the
host is swapped for the test server's, and placeholders (<TOKEN>, <sha256>) are filled in."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import running_wharf

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEED = SEEDS / "000_c087b5febba3be2e.txt"
SEED_001 = SEEDS / "001_8711632ff6f65de2.txt"
SEED_002 = SEEDS / "002_3450e39d0103a7ad.txt"
# The smallest valid WebAssembly component: magic, version 0x0d, layer 1.
COMPONENT = b"\x00asm\x0d\x00\x01\x00"
WASM = b"\x00asm\x01\x00\x00\x00" + b"\x00\x05\x04name"  # a module with an empty custom section


def curl_commands(text: str, needle: str = "/registry/") -> list[str]:
    """Every `curl ...` command of the seed, with its continuation lines joined."""
    commands, current = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if current is not None:
            current += " " + stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                commands.append(current)
                current = None
        elif stripped.startswith("curl "):
            if stripped.endswith("\\"):
                current = stripped.rstrip("\\").strip()
            else:
                commands.append(stripped)
    return [c for c in commands if needle in c]


def run(command: str, url: str, cwd: Path) -> subprocess.CompletedProcess:
    for host in ("http://localhost:9090", "http://localhost:8080", "https://registry.esubalew.dev"):
        command = command.replace(host, url)
    return subprocess.run(
        ["bash", "-c", command + " --silent --show-error --max-time 20 -w '\\n%{http_code}'"],
        cwd=cwd, capture_output=True, timeout=30, check=False,
    )


def status_and_body(done: subprocess.CompletedProcess) -> tuple[int, bytes]:
    body, _, status = done.stdout.rpartition(b"\n")
    return int(status), body


@pytest.fixture(scope="module")
def commands() -> list[str]:
    if not SEED.is_file():
        pytest.fail(f"seed not found: {SEED}")
    found = curl_commands(SEED.read_text())
    # Two groups of four: without tokens, then with the seed's tokens.
    assert len(found) == 8, found
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is installed by .ci/run")
def test_seed_000_curl_examples_without_tokens(commands, tmp_path):
    (tmp_path / "hello.wasm").write_bytes(WASM)
    with running_wharf(tmp_path) as reg:
        push, pull, discover, remove = commands[:4]
        assert status_and_body(run(push, reg.url, tmp_path))[0] == 200
        (tmp_path / "hello.wasm").unlink()
        assert status_and_body(run(pull, reg.url, tmp_path))[0] == 200
        assert (tmp_path / "hello.wasm").read_bytes() == WASM
        status, body = status_and_body(run(discover, reg.url, tmp_path))
        assert status == 200
        listed = json.loads(body)
        assert [f["name"] for f in listed] == ["hello.wasm"]
        assert listed[0]["size"] == len(WASM)
        assert status_and_body(run(remove, reg.url, tmp_path))[0] == 200
        status, body = status_and_body(run(discover, reg.url, tmp_path))
        assert (status, json.loads(body)) == (200, [])


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is installed by .ci/run")
def test_seed_000_curl_examples_with_tokens(commands, tmp_path):
    (tmp_path / "hello.wasm").write_bytes(WASM)
    env = {"ADMIN_REGISTRY_TOKEN": "morrison-hotel", "PRIVATE_REGISTRY_TOKEN": "people-are-strange"}
    with running_wharf(tmp_path, env) as reg:
        push, pull, discover, remove = commands[4:]
        # Without the headers the same requests are refused.
        for tokenless in (commands[0], commands[2]):
            assert status_and_body(run(tokenless, reg.url, tmp_path))[0] == 401
        assert status_and_body(run(push, reg.url, tmp_path))[0] == 200
        (tmp_path / "hello.wasm").unlink()
        assert status_and_body(run(pull, reg.url, tmp_path))[0] == 200
        assert (tmp_path / "hello.wasm").read_bytes() == WASM
        status, body = status_and_body(run(discover, reg.url, tmp_path))
        assert status == 200 and [f["name"] for f in json.loads(body)] == ["hello.wasm"]
        assert status_and_body(run(remove, reg.url, tmp_path))[0] == 200
        assert status_and_body(run(pull.replace(" -o hello.wasm", ""), reg.url, tmp_path))[0] == 404


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is installed by .ci/run")
def test_seed_002_publish_and_seed_001_queries(tmp_path):
    publish = curl_commands(SEED_002.read_text(), "/api/v1/packages")
    queries = curl_commands(SEED_001.read_text(), "registry.esubalew.dev")
    assert len(publish) == 1 and len(queries) == 3, (publish, queries)
    token = "seed-token"
    (tmp_path / "hello.wasm").write_bytes(COMPONENT)
    sha = __import__("hashlib").sha256(COMPONENT).hexdigest()
    env = {"REGISTRY_TOKENS": f"run:{token},wasi:{token}"}
    with running_wharf(tmp_path, env) as reg:
        command = publish[0].replace("<TOKEN>", token).replace("<sha256>", sha)
        status, body = status_and_body(run(command, reg.url, tmp_path))
        assert status == 201, body
        assert json.loads(body)["name"] == "run:example/hello"
        # The same command again: versions are immutable.
        assert status_and_body(run(command, reg.url, tmp_path))[0] == 409
        # Seed 001 queries a wasi:http@0.2.0 package: publish one the same way.
        wasi = command.replace("run:example/hello", "wasi:http").replace("version=1.0.0", "version=0.2.0")
        assert status_and_body(run(wasi, reg.url, tmp_path))[0] == 201

        listing, search, info = queries
        status, body = status_and_body(run(listing, reg.url, tmp_path))
        assert status == 200 and json.loads(body) == {"packages": ["run:example/hello", "wasi:http"]}
        status, body = status_and_body(run(search, reg.url, tmp_path))
        found = json.loads(body)
        assert status == 200 and found["total"] == 1 and found["packages"][0]["name"] == "wasi:http"
        status, body = status_and_body(run(info, reg.url, tmp_path))
        meta = json.loads(body)
        assert status == 200 and (meta["name"], meta["version"], meta["sha256"]) == ("wasi:http", "0.2.0", sha)
        assert meta["download_url"].startswith(reg.url + "/packages/wasi%3Ahttp/0.2.0/")
