"""oras-py against wharf: push a Wasm artifact (custom config media type, one application/wasm layer), pull it back, check the manifest."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import requests

oras_client = pytest.importorskip("oras.client")
import oras.decorator  # noqa: E402  (after importorskip)

HTTP_TIMEOUT_S = 10
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"
TITLE = "org.opencontainers.image.title"

TAG = "1.0.0"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def section(section_id: int, content: bytes) -> bytes:
    return bytes([section_id]) + leb128(len(content)) + content


def wasm_module() -> bytes:
    """A valid module exporting `answer: () -> i32` (returns 42), plus a custom section."""
    name = b"answer"
    return b"".join([
        b"\0asm\x01\0\0\0",
        section(1, b"\x01\x60\x00\x01\x7f"),  # type: one func type () -> i32
        section(3, b"\x01\x00"),  # function: one function of type 0
        section(7, b"\x01" + leb128(len(name)) + name + b"\x00\x00"),  # export: func 0 as "answer"
        section(10, b"\x01\x04\x00\x41\x2a\x0b"),  # code: no locals, i32.const 42, end
        section(0, leb128(9) + b"wharf-e2e" + bytes(range(256)) * 4),  # custom section, 1 KiB payload
    ])


@pytest.fixture
def fast_oras_retries(monkeypatch):
    """oras-py retries a failing request 5 times, sleeping 2 + 3**n s (about 2 minutes in all).
    Cap each sleep so a server failure is reported in seconds; the attempt count stays bounded."""
    real_sleep = time.sleep

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            real_sleep(min(seconds, 0.2))

    monkeypatch.setattr(oras.decorator, "time", _Time)


@pytest.mark.parametrize(
    ("repo", "upload"),
    [
        ("e2e/wasm", {}),  # oras-py's default: POST, then one PUT with the whole blob
        ("e2e/wasm-chunked", {"do_chunked": True, "chunk_size": 300}),  # POST, PATCH per 300 B, PUT
    ],
    ids=["monolithic", "chunked"],
)
def test_push_and_pull_wasm_artifact(registry, tmp_path: Path, fast_oras_retries, repo: str, upload: dict):
    src = tmp_path / "src"
    src.mkdir()
    wasm = wasm_module()
    wasm_file = src / "answer.wasm"
    wasm_file.write_bytes(wasm)
    config = json.dumps({"created": "2024-01-01T00:00:00Z", "author": "wharf e2e", "architecture": "wasm",
                         "os": "wasip1"}).encode()
    config_file = src / "config.json"
    config_file.write_bytes(config)
    target = f"{registry.host}/{repo}:{TAG}"

    client = oras_client.OrasClient(hostname=registry.host, insecure=True)
    # oras-py takes a media type after the last ':' of a path: "file:type" for layers,
    # manifest_config="file:type" for the config (oras/provider.py, _parse_manifest_ref).
    pushed = client.push(
        target=target,
        files=[f"{wasm_file}:{WASM_LAYER}"],
        manifest_config=f"{config_file}:{WASM_CONFIG}",
        disable_path_validation=True,  # our files live in tmp_path, not under the working directory
        quiet=True,
        **upload,
    )
    assert pushed.status_code == 201
    manifest_digest = pushed.headers["Docker-Content-Digest"]

    # Pull into a fresh dir: the layer comes back under its title annotation, byte for byte.
    out = tmp_path / "out"
    files = client.pull(target=target, outdir=str(out))
    assert [Path(f).name for f in files] == ["answer.wasm"]
    assert Path(files[0]).read_bytes() == wasm
    assert sorted(p.name for p in out.iterdir()) == ["answer.wasm"]

    # The manifest over plain HTTP: served as pushed, with the media types and digests oras sent.
    res = requests.get(f"{registry.url}/v2/{repo}/manifests/{TAG}", headers={"Accept": OCI_MANIFEST},
                       timeout=HTTP_TIMEOUT_S)
    assert res.status_code == 200
    assert res.headers["Content-Type"] == OCI_MANIFEST
    assert res.headers["Docker-Content-Digest"] == manifest_digest == sha256(res.content)
    manifest = res.json()
    assert manifest["schemaVersion"] == 2
    assert manifest["config"] == {"mediaType": WASM_CONFIG, "digest": sha256(config), "size": len(config)}
    assert len(manifest["layers"]) == 1
    layer = manifest["layers"][0]
    assert layer["mediaType"] == WASM_LAYER
    assert layer["digest"] == sha256(wasm)
    assert layer["size"] == len(wasm)
    assert layer["annotations"][TITLE] == "answer.wasm"

    # Config and layer blobs are served byte for byte.
    for digest, body in ((sha256(config), config), (sha256(wasm), wasm)):
        blob = requests.get(f"{registry.url}/v2/{repo}/blobs/{digest}", timeout=HTTP_TIMEOUT_S)
        assert blob.status_code == 200, digest
        assert blob.content == body, digest
        assert blob.headers["Docker-Content-Digest"] == digest

    assert client.get_tags(f"{registry.host}/{repo}") == [TAG]
