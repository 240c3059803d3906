"""wkg (wasm-pkg-tools, from crates.io) against a real `wharf serve` over plain http on 127.0.0.1:
`wkg publish` then `wkg get` returns the same bytes and the package API lists the right sha256;
and a component published through `POST /api/v1/packages` is fetched by `wkg get` and `oras pull`."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import oras.client
import pytest
import requests

WKG_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def wkg() -> str:
    path = shutil.which("wkg")
    if path is None:
        pytest.fail("wkg is not installed: cargo install wkg --version 0.16.1 --locked (.ci/run does this)")
    return path


def run_wkg(wkg: str, workdir: Path, registry, *args: str) -> subprocess.CompletedProcess:
    """Runs wkg with a config that points every namespace at the test registry over http."""
    config = workdir / "wkg-config.toml"
    config.write_text(
        f'default_registry = "{registry.host}"\n'
        f'[registry."{registry.host}".oci]\nprotocol = "http"\n'
    )
    env = dict(os.environ, WKG_CONFIG_FILE=str(config), WKG_CACHE_DIR=str(workdir / "wkg-cache"), NO_COLOR="1",
               DOCKER_CONFIG=str(workdir / "empty-docker-config"))  # no stored credentials
    done = subprocess.run([wkg, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=WKG_TIMEOUT_S, check=False)
    assert done.returncode == 0, f"wkg {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def build_wit_package(wkg: str, workdir: Path, registry, package: str, version: str) -> Path:
    """A real component: a WIT package encoded by `wkg wit build`."""
    wit = workdir / "wit"
    wit.mkdir(parents=True, exist_ok=True)
    ns, name = package.split(":")
    (wit / "world.wit").write_text(
        f"package {package}@{version};\n\n"
        "interface greet {\n  hello: func(name: string) -> string;\n}\n\n"
        f"world {name} {{\n  export greet;\n}}\n"
    )
    out = workdir / f"{ns}-{name}.wasm"
    run_wkg(wkg, workdir, registry, "wit", "build", "-o", str(out))
    data = out.read_bytes()
    assert data[:4] == b"\0asm" and data[4:8] == b"\x0d\x00\x01\x00", "a component binary"
    return out


def test_wkg_publish_then_get_and_package_api(wkg, registry, tmp_path):
    component = build_wit_package(wkg, tmp_path, registry, "e2e:greeter", "1.0.0")
    published = run_wkg(wkg, tmp_path, registry, "publish", str(component))
    assert "Published e2e:greeter@1.0.0" in published.stdout + published.stderr

    out = tmp_path / "fetched.wasm"
    run_wkg(wkg, tmp_path, registry, "get", "e2e:greeter@1.0.0", "-o", str(out))
    assert out.read_bytes() == component.read_bytes()

    sha = hashlib.sha256(component.read_bytes()).hexdigest()
    versions = requests.get(f"{registry.url}/api/v1/packages/e2e%3Agreeter/versions", timeout=10).json()
    assert versions == {"name": "e2e:greeter", "versions": ["1.0.0"]}
    meta = requests.get(f"{registry.url}/api/v1/packages/e2e%3Agreeter/1.0.0", timeout=10).json()
    assert meta["sha256"] == sha
    assert meta["size"] == component.stat().st_size
    assert "e2e:greeter/greet@1.0.0" in meta["exports"]
    download = requests.get(meta["download_url"], timeout=10)
    assert download.status_code == 200 and download.content == component.read_bytes()


def test_package_api_publish_then_wkg_get_and_oras_pull(wkg, registry, tmp_path):
    component = build_wit_package(wkg, tmp_path, registry, "e2e:other", "2.0.0")
    data = component.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    res = requests.post(
        f"{registry.url}/api/v1/packages",
        data={"name": "e2e:other", "version": "2.0.0", "description": "published over HTTP", "sha256": sha},
        files={"component": ("other.wasm", data, "application/wasm")},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    assert res.json()["sha256"] == sha

    out = tmp_path / "via-wkg.wasm"
    run_wkg(wkg, tmp_path, registry, "get", "e2e:other@2.0.0", "-o", str(out))
    assert out.read_bytes() == data
    # Without a version wkg resolves the newest.
    newest = tmp_path / "newest.wasm"
    run_wkg(wkg, tmp_path, registry, "get", "e2e:other", "-o", str(newest))
    assert newest.read_bytes() == data

    pulled = tmp_path / "oras-out"
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    files = client.pull(target=f"{registry.host}/e2e/other:2.0.0", outdir=str(pulled))
    assert len(files) == 1
    assert Path(files[0]).read_bytes() == data
    assert Path(files[0]).name == "other.wasm"
