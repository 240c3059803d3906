"""skopeo against wharf: push a 3-layer OCI layout, inspect, list tags, pull back byte-identical, tag again, delete.

The tests run in file order on one repository (`e2e/skopeo`): the module fixture pushes `v1`,
a later test adds `v0.9`, and the last test deletes the image.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
SKOPEO_TIMEOUT_S = 120
HTTP_TIMEOUT_S = 10

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"

REPO = "e2e/skopeo"
# Random payload of each layer: from a few hundred KiB to a few MiB.
LAYER_SIZES = (300 * 1024, 1024 * 1024, 3 * 1024 * 1024 + 123)

pytestmark = pytest.mark.skipif(not os.access(SKOPEO, os.X_OK), reason="skopeo is not installed")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class LocalImage:
    layout: Path
    manifest: bytes
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]


def write_blob(layout: Path, data: bytes) -> dict:
    digest = sha256(data)
    (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def tar_layer(index: int, payload: bytes) -> bytes:
    """An uncompressed tar holding one file of `payload`, with fixed metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer-{index}.bin")
        info.size = len(payload)
        info.mtime = 1_700_000_000
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def build_oci_layout(layout: Path, tag: str, seed: int) -> LocalImage:
    """An OCI image layout with gzip tar layers of random data, a config, a manifest and `tag`."""
    rng = random.Random(seed)
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    layers, diff_ids = [], []
    for i, size in enumerate(LAYER_SIZES):
        tar = tar_layer(i, rng.randbytes(size))
        diff_ids.append(sha256(tar))
        layers.append({"mediaType": OCI_LAYER_GZIP, **write_blob(layout, gzip.compress(tar, mtime=0))})

    created = "2024-01-01T00:00:00Z"
    config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/true"], "Labels": {"wharf.e2e": "skopeo"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": f"wharf e2e layer {i}"} for i in range(len(layers))],
    }
    config_desc = {"mediaType": OCI_CONFIG, **write_blob(layout, canonical_json(config))}
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_desc,
        "layers": layers,
        "annotations": {"org.opencontainers.image.title": "wharf e2e skopeo"},
    })
    manifest_desc = {"mediaType": OCI_MANIFEST, **write_blob(layout, manifest), "annotations": {REF_NAME: tag}}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [manifest_desc]}
    (layout / "index.json").write_bytes(canonical_json(index))
    return LocalImage(
        layout=layout,
        manifest=manifest,
        manifest_digest=manifest_desc["digest"],
        config_digest=config_desc["digest"],
        layer_digests=[layer["digest"] for layer in layers],
    )


def layout_blobs(layout: Path) -> dict[str, bytes]:
    """Every blob of a layout, by file name."""
    return {p.name: p.read_bytes() for p in sorted((layout / "blobs" / "sha256").iterdir())}


def layout_manifest(layout: Path, tag: str) -> bytes:
    index = json.loads((layout / "index.json").read_bytes())
    found = [m for m in index["manifests"] if m.get("annotations", {}).get(REF_NAME) == tag]
    assert len(found) == 1, f"index.json of {layout} should name {tag} once: {index}"
    return (layout / "blobs" / "sha256" / found[0]["digest"].removeprefix("sha256:")).read_bytes()


class Skopeo:
    """Runs skopeo with a permissive policy, no system registries.d, and bounded time."""

    def __init__(self, home: Path):
        self.policy = home / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.registries_d = home / "registries.d"
        self.registries_d.mkdir()
        self.tmpdir = home / "tmp"
        self.tmpdir.mkdir()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [
            SKOPEO, "--policy", str(self.policy), "--registries.d", str(self.registries_d),
            "--tmpdir", str(self.tmpdir), "--command-timeout", f"{SKOPEO_TIMEOUT_S}s", *args,
        ]
        res = subprocess.run(cmd, capture_output=True, timeout=SKOPEO_TIMEOUT_S + 15, stdin=subprocess.DEVNULL)
        if check:
            assert res.returncode == 0, (
                f"{' '.join(cmd)} exited {res.returncode}\n"
                f"stdout: {res.stdout.decode(errors='replace')}\nstderr: {res.stderr.decode(errors='replace')}"
            )
        return res

    def json(self, *args: str):
        return json.loads(self.run(*args).stdout)

    def push(self, layout: Path, src_tag: str, dest: str) -> None:
        self.run("copy", "--quiet", "--dest-tls-verify=false", "--dest-no-creds", f"oci:{layout}:{src_tag}", dest)


@pytest.fixture(scope="module")
def skopeo(tmp_path_factory) -> Skopeo:
    return Skopeo(tmp_path_factory.mktemp("skopeo"))


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> LocalImage:
    return build_oci_layout(tmp_path_factory.mktemp("src") / "layout", tag="v1", seed=20240101)


@pytest.fixture(scope="module")
def pushed(registry, skopeo, image) -> str:
    """`docker://<host>/e2e/skopeo:v1`, pushed from the local layout."""
    ref = f"docker://{registry.host}/{REPO}:v1"
    skopeo.push(image.layout, "v1", ref)
    return ref


def test_pushed_manifest_and_blobs_are_served_as_pushed(registry, pushed, image):
    by_tag = requests.get(f"{registry.url}/v2/{REPO}/manifests/v1", headers={"Accept": OCI_MANIFEST},
                          timeout=HTTP_TIMEOUT_S)
    assert by_tag.status_code == 200
    assert by_tag.content == image.manifest
    assert by_tag.headers["Content-Type"] == OCI_MANIFEST
    assert by_tag.headers["Docker-Content-Digest"] == image.manifest_digest

    blobs = layout_blobs(image.layout)
    for digest in [image.config_digest, *image.layer_digests]:
        res = requests.get(f"{registry.url}/v2/{REPO}/blobs/{digest}", timeout=HTTP_TIMEOUT_S)
        assert res.status_code == 200, digest
        assert res.content == blobs[digest.removeprefix("sha256:")], digest
        assert res.headers["Docker-Content-Digest"] == digest


def test_inspect_reports_manifest_and_layer_digests(skopeo, pushed, image):
    info = skopeo.json("inspect", "--tls-verify=false", "--no-creds", pushed)
    assert info["Digest"] == image.manifest_digest
    assert info["Layers"] == image.layer_digests
    assert info["RepoTags"] == ["v1"]
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Labels"] == {"wharf.e2e": "skopeo"}

    raw_manifest = skopeo.run("inspect", "--raw", "--tls-verify=false", "--no-creds", pushed).stdout
    assert raw_manifest == image.manifest

    raw_config = skopeo.run("inspect", "--config", "--raw", "--tls-verify=false", "--no-creds", pushed).stdout
    assert sha256(raw_config) == image.config_digest


def test_list_tags_shows_the_pushed_tag(registry, skopeo, pushed):
    listed = skopeo.json("list-tags", "--tls-verify=false", "--no-creds", f"docker://{registry.host}/{REPO}")
    assert listed["Tags"] == ["v1"]


def test_copy_back_to_oci_layout_is_byte_identical(skopeo, pushed, image, tmp_path):
    out = tmp_path / "pulled"
    skopeo.run("copy", "--quiet", "--src-tls-verify=false", "--src-no-creds", pushed, f"oci:{out}:v1")

    assert layout_manifest(out, "v1") == image.manifest
    pulled, original = layout_blobs(out), layout_blobs(image.layout)
    assert sorted(pulled) == sorted(original)
    for name, data in pulled.items():
        assert data == original[name], f"blob {name} differs after the round trip"
        assert hashlib.sha256(data).hexdigest() == name


def test_second_tag_is_listed_sorted(registry, skopeo, pushed, image):
    # "v0.9" is pushed second but sorts first: the listing must be lexical, not insertion order.
    skopeo.push(image.layout, "v1", f"docker://{registry.host}/{REPO}:v0.9")

    listed = skopeo.json("list-tags", "--tls-verify=false", "--no-creds", f"docker://{registry.host}/{REPO}")
    assert listed["Tags"] == ["v0.9", "v1"]

    res = requests.get(f"{registry.url}/v2/{REPO}/tags/list", timeout=HTTP_TIMEOUT_S)
    assert res.status_code == 200
    assert res.json() == {"name": REPO, "tags": ["v0.9", "v1"]}

    info = skopeo.json("inspect", "--tls-verify=false", "--no-creds", f"docker://{registry.host}/{REPO}:v0.9")
    assert info["Digest"] == image.manifest_digest


def test_delete_makes_the_manifest_unknown(registry, skopeo, pushed, image):
    skopeo.run("delete", "--tls-verify=false", "--no-creds", pushed)

    res = requests.get(f"{registry.url}/v2/{REPO}/manifests/{image.manifest_digest}",
                       headers={"Accept": OCI_MANIFEST}, timeout=HTTP_TIMEOUT_S)
    assert res.status_code == 404
    assert res.headers["Content-Type"].startswith("application/json")
    errors = res.json()["errors"]
    assert [e["code"] for e in errors] == ["MANIFEST_UNKNOWN"]

    # Deleting by digest (which is what skopeo does) drops every tag pointing at the manifest.
    for tag in ("v1", "v0.9"):
        res = requests.get(f"{registry.url}/v2/{REPO}/manifests/{tag}", headers={"Accept": OCI_MANIFEST},
                           timeout=HTTP_TIMEOUT_S)
        assert res.status_code == 404, tag
        assert res.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"

    gone = skopeo.run("inspect", "--tls-verify=false", "--no-creds", pushed, check=False)
    assert gone.returncode != 0
