"""The curl examples of seed 000 (Simplism's registry mode), run exactly as written there
against a real `wharf serve`, with the tokens the seed shows."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import running_wharf

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_c087b5febba3be2e.txt"
WASM = b"\x00asm\x01\x00\x00\x00" + b"\x00\x05\x04name"  # a module with an empty custom section


def curl_commands(text: str) -> list[str]:
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
    return [c for c in commands if "/registry/" in c]


def run(command: str, url: str, cwd: Path) -> subprocess.CompletedProcess:
    command = command.replace("http://localhost:9090", url)
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
