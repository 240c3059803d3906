"""Real clients against a registry with tokens: skopeo through the Docker token flow, oras and
wkg with HTTP Basic (the token as password), and refusals without or with wrong credentials."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import requests

from conftest import running_wharf
from test_oras import fast_oras_retries  # noqa: F401  (a fixture: bounded retries)
from test_skopeo import Skopeo, build_oci_layout
from test_wkg import build_wit_package

ADMIN = "e2e-admin-token"
PUSHER = "e2e-acme-token"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    env = {"REGISTRY_ADMIN_TOKEN": ADMIN, "REGISTRY_TOKENS": f"acme:{PUSHER}"}
    with running_wharf(tmp_path_factory.mktemp("secured"), env) as reg:
        yield reg


def test_skopeo_pushes_only_with_a_scoped_token(secured, tmp_path):
    skopeo = Skopeo(tmp_path)
    image = build_oci_layout(tmp_path / "layout", tag="v1", seed=7)
    src = f"oci:{image.layout}:v1"
    base = ["copy", "--quiet", "--dest-tls-verify=false"]
    refused = skopeo.run(*base, "--dest-no-creds", src, f"docker://{secured.host}/acme/app:v1", check=False)
    assert refused.returncode != 0
    wrong = skopeo.run(*base, "--dest-creds", "ci:not-the-token", src, f"docker://{secured.host}/acme/app:v1", check=False)
    assert wrong.returncode != 0
    other_ns = skopeo.run(*base, "--dest-creds", f"ci:{PUSHER}", src, f"docker://{secured.host}/other/app:v1", check=False)
    assert other_ns.returncode != 0
    skopeo.run(*base, "--dest-creds", f"ci:{PUSHER}", src, f"docker://{secured.host}/acme/app:v1")
    # Reads stay anonymous (the registry is not private): skopeo takes the anonymous token.
    listed = skopeo.json("list-tags", "--tls-verify=false", "--no-creds", f"docker://{secured.host}/acme/app")
    assert listed["Tags"] == ["v1"]
    manifest = requests.get(f"http://{secured.host}/v2/acme/app/manifests/v1", timeout=10)
    assert manifest.status_code == 200 and manifest.content == image.manifest


def test_oras_pushes_with_basic_auth(secured, tmp_path, fast_oras_retries):
    import oras.client

    artifact = tmp_path / "tool.wasm"
    artifact.write_bytes(b"\0asm\x01\0\0\0")
    anonymous = oras.client.OrasClient(hostname=secured.host, insecure=True)
    with pytest.raises(Exception):
        anonymous.push(target=f"{secured.host}/acme/tool:1.0.0", files=[f"{artifact}:application/wasm"],
                       disable_path_validation=True)
    client = oras.client.OrasClient(hostname=secured.host, insecure=True)
    # Keep the credentials out of ~/.docker/config.json, where other clients would find them.
    client.login(username="ci", password=PUSHER, hostname=secured.host, tls_verify=False,
                 config_path=str(tmp_path / "docker-config.json"))
    res = client.push(target=f"{secured.host}/acme/tool:1.0.0", files=[f"{artifact}:application/wasm"],
                      disable_path_validation=True)
    assert res.status_code == 201
    assert requests.get(f"http://{secured.host}/v2/acme/tool/tags/list", timeout=10).json()["tags"] == ["1.0.0"]


def test_wkg_publishes_with_basic_auth(secured, tmp_path):
    wkg = shutil.which("wkg")
    if wkg is None:
        pytest.fail("wkg is not installed: cargo install wkg --version 0.16.1 --locked (.ci/run does this)")
    component = build_wit_package(wkg, tmp_path, secured, "acme:secured", "1.0.0")

    def publish(auth: str) -> subprocess.CompletedProcess:
        config = tmp_path / "auth-config.toml"
        config.write_text(
            f'default_registry = "{secured.host}"\n'
            f'[registry."{secured.host}".oci]\nprotocol = "http"\n{auth}'
        )
        # DOCKER_CONFIG: an empty one, so wkg cannot fall back to stored docker credentials.
        env = dict(os.environ, WKG_CONFIG_FILE=str(config), WKG_CACHE_DIR=str(tmp_path / "cache"), NO_COLOR="1",
                   DOCKER_CONFIG=str(tmp_path / "empty-docker-config"))
        return subprocess.run([wkg, "publish", str(component)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    assert publish("").returncode != 0
    assert publish(f'auth = {{ username = "ci", password = "wrong" }}\n').returncode != 0
    done = publish(f'auth = {{ username = "ci", password = "{PUSHER}" }}\n')
    assert done.returncode == 0, done.stdout + done.stderr
    meta = requests.get(f"http://{secured.host}/api/v1/packages/acme%3Asecured/1.0.0", timeout=10).json()
    assert meta["size"] == component.stat().st_size
