//! Packages on the OCI store: publishing a Wasm artifact as `namespace:name@version` (an OCI
//! manifest in the CNCF Wasm layout, tagged `version` in repository `namespace/name`, plus an
//! index row), indexing Wasm artifacts pushed through `/v2`, and resolving versions.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{json, Value};
use wharf_core::manifest::media_type;
use wharf_core::package::{parse_version, version_tag};
use wharf_core::wasm::{inspect, WasmInfo, WasmKind};
use wharf_core::{Digest, Manifest, PackageName, RepoName, Tag};
use wharf_storage::{now_unix, NewManifest, StorageError, VersionRecord};

use super::artifact::{self, Stored};
use crate::App;

/// Config media types that mark an OCI manifest as a Wasm package (v0 first; older tools used v1).
const WASM_CONFIG_TYPES: &[&str] = &[
    media_type::WASM_CONFIG,
    "application/vnd.wasm.config.v1+json",
];

/// What a publisher sends besides the artifact.
#[derive(Debug, Clone, Default)]
pub struct PublishMeta {
    pub description: String,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub wit_url: Option<String>,
    /// `[{"name", "version", "optional"}]`, validated.
    pub dependencies: Value,
    pub targets: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Invalid(String),
    #[error("sha256 {expected} does not match the uploaded artifact's {actual}")]
    Checksum { expected: String, actual: String },
    #[error("{package}@{version} is already published; versions are immutable")]
    Conflict { package: String, version: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Validates a `dependencies` field: a JSON array of `{name, version, optional?}` whose names
/// are package names and versions semver requirements.
pub fn parse_dependencies(text: &str) -> Result<Value, String> {
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| format!("dependencies is not JSON: {e}"))?;
    let Value::Array(items) = parsed else {
        return Err("dependencies must be a JSON array of {name, version, optional}".into());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let name = item["name"]
            .as_str()
            .ok_or("every dependency needs a name")?;
        PackageName::parse(name).map_err(|e| e.to_string())?;
        let req = item["version"].as_str().unwrap_or("*");
        semver::VersionReq::parse(req)
            .map_err(|e| format!("dependency {name}: bad version requirement {req:?}: {e}"))?;
        let optional = item["optional"].as_bool().unwrap_or(false);
        out.push(json!({"name": name, "version": req, "optional": optional}));
    }
    Ok(Value::Array(out))
}

/// Validates a `targets` field: a JSON array of strings.
pub fn parse_targets(text: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(text).map_err(|_| "targets must be a JSON array of strings".to_owned())
}

/// The CNCF Wasm config for an artifact.
fn wasm_config(info: &WasmInfo, layer: &Digest) -> Value {
    let mut config = json!({
        "created": artifact::now_rfc3339(),
        "architecture": "wasm",
        "os": match info.kind { WasmKind::Component => "wasip2", WasmKind::Module => "wasip1" },
        "layerDigests": [layer.to_string()],
    });
    if info.kind == WasmKind::Component {
        config["component"] = json!({"imports": info.imports, "exports": info.exports});
    }
    config
}

/// Publishes a stored artifact as `name@version`. The artifact must be WebAssembly; the version
/// is recorded atomically with its OCI tag, so concurrent publishers get exactly one success.
pub async fn publish(
    app: &App,
    name: &PackageName,
    version: &str,
    meta: PublishMeta,
    artifact: &Stored,
    expected_sha256: Option<&str>,
) -> Result<VersionRecord, PublishError> {
    let version = parse_version(version).map_err(|e| PublishError::Invalid(e.to_string()))?;
    let actual = artifact.digest.hex().to_owned();
    if let Some(expected) = expected_sha256.map(str::trim).filter(|e| !e.is_empty()) {
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(PublishError::Checksum {
                expected: expected.to_owned(),
                actual,
            });
        }
    }
    let bytes = read_blob(app, &artifact.digest).await?;
    let info = inspect(&bytes).map_err(|e| PublishError::Invalid(e.to_string()))?;
    drop(bytes);

    let repo = name.repo();
    let tag = version_tag(&version);
    let config =
        Bytes::from(serde_json::to_vec(&wasm_config(&info, &artifact.digest)).expect("JSON"));
    let config_digest = Digest::sha256(&config);
    app.blobs.put(&config_digest, config.clone()).await?;
    app.meta
        .link_blob(&repo, &config_digest, config.len() as u64)
        .await?;
    app.meta
        .link_blob(&repo, &artifact.digest, artifact.size)
        .await?;

    let mut annotations = BTreeMap::from([
        (
            "org.opencontainers.image.version".to_owned(),
            version.to_string(),
        ),
        (artifact::CREATED.to_owned(), artifact::now_rfc3339()),
    ]);
    if !meta.description.is_empty() {
        annotations.insert(
            "org.opencontainers.image.description".into(),
            meta.description.clone(),
        );
    }
    if let Some(l) = &meta.license {
        annotations.insert("org.opencontainers.image.licenses".into(), l.clone());
    }
    if let Some(r) = &meta.repository {
        annotations.insert("org.opencontainers.image.source".into(), r.clone());
    }
    let title = format!(
        "{}.wasm",
        name.name().rsplit('/').next().unwrap_or(name.name())
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::WASM_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{
            "mediaType": media_type::WASM_LAYER,
            "digest": artifact.digest.to_string(),
            "size": artifact.size,
            "annotations": {artifact::TITLE: title},
        }],
        "annotations": annotations,
    });
    let manifest_bytes = Bytes::from(serde_json::to_vec(&manifest).expect("JSON"));
    let manifest_digest = Digest::sha256(&manifest_bytes);
    app.blobs
        .put(&manifest_digest, manifest_bytes.clone())
        .await?;
    let new_manifest = NewManifest {
        repo: repo.clone(),
        digest: manifest_digest.clone(),
        media_type: media_type::OCI_MANIFEST.to_owned(),
        artifact_type: Some(media_type::WASM_CONFIG.to_owned()),
        subject: None,
        size: manifest_bytes.len() as u64,
        annotations,
        references: vec![config_digest, artifact.digest.clone()],
    };
    let record = VersionRecord {
        package: name.to_string(),
        namespace: name.namespace().to_owned(),
        version: version.to_string(),
        description: meta.description,
        license: meta.license,
        repository: meta.repository,
        wit_url: meta.wit_url,
        size: artifact.size,
        sha256: actual,
        manifest_digest: manifest_digest.to_string(),
        dependencies: meta.dependencies,
        targets: meta.targets,
        imports: info.imports,
        exports: info.exports,
        yanked: false,
        downloads: 0,
        published_at: now_unix(),
    };
    match app
        .meta
        .publish_version(&record, Some((&new_manifest, &tag)))
        .await
    {
        Ok(()) => Ok(record),
        Err(StorageError::Conflict(_)) => Err(PublishError::Conflict {
            package: record.package,
            version: record.version,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Reads a stored blob whole (artifacts are bounded by the upload limit).
async fn read_blob(app: &App, digest: &Digest) -> Result<Vec<u8>, StorageError> {
    let stream = app
        .blobs
        .read(digest, None)
        .await?
        .ok_or_else(|| StorageError::Corrupt(format!("blob {digest} vanished")))?;
    Ok(wharf_storage::fs::collect(stream).await?)
}

/// What an OCI push means for the package index.
#[derive(Debug)]
pub enum OciPush {
    /// Not a Wasm package version (other media types, no semver tag, no `ns/name` repository).
    NotAPackage,
    /// A package version: record it together with the manifest.
    Version(Box<VersionRecord>),
}

/// Recognises a Wasm artifact pushed through `/v2` under a semver tag (by wkg, oras, …).
pub async fn classify_oci_push(
    app: &App,
    repo: &RepoName,
    tag: &Tag,
    manifest: &Manifest,
    digest: &Digest,
) -> Result<OciPush, StorageError> {
    let Some(config) = manifest.config.as_ref() else {
        return Ok(OciPush::NotAPackage);
    };
    let is_wasm = WASM_CONFIG_TYPES.contains(&config.media_type.as_str())
        || manifest
            .layers
            .first()
            .is_some_and(|l| l.media_type == media_type::WASM_LAYER);
    let (Some(name), Ok(version), Some(layer)) = (
        PackageName::from_repo(repo),
        parse_version(tag.as_str()),
        manifest.layers.first(),
    ) else {
        return Ok(OciPush::NotAPackage);
    };
    // The package API serves the layer by its SHA-256 from this repository's blobs.
    if !is_wasm || layer.is_foreign() || layer.digest.algorithm() != wharf_core::Algorithm::Sha256 {
        return Ok(OciPush::NotAPackage);
    }
    // imports/exports from the CNCF config, when it has them (it is small JSON).
    let config_json: Value = match app.blobs.read(&config.digest, None).await? {
        Some(stream) if config.size <= 1024 * 1024 => {
            serde_json::from_slice(&wharf_storage::fs::collect(stream).await?)
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let note = |k: &str| manifest.annotations.get(k).cloned();
    let target = config_json["component"]["target"]
        .as_str()
        .map(str::to_owned);
    Ok(OciPush::Version(Box::new(VersionRecord {
        package: name.to_string(),
        namespace: name.namespace().to_owned(),
        version: version.to_string(),
        description: note("org.opencontainers.image.description").unwrap_or_default(),
        license: note("org.opencontainers.image.licenses"),
        repository: note("org.opencontainers.image.source"),
        wit_url: None,
        size: layer.size,
        sha256: layer.digest.hex().to_owned(),
        manifest_digest: digest.to_string(),
        dependencies: json!([]),
        targets: target.into_iter().collect(),
        imports: strings(&config_json["component"]["imports"]),
        exports: strings(&config_json["component"]["exports"]),
        yanked: false,
        downloads: 0,
        published_at: now_unix(),
    })))
}

/// The versions of a package in semver order, newest last.
pub fn sort_versions(versions: &mut [VersionRecord]) {
    versions.sort_by(|a, b| {
        match (
            semver::Version::parse(&a.version),
            semver::Version::parse(&b.version),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(&b.version),
        }
    });
}

/// Groups versions by package: for each package with a non-yanked version, the newest such
/// version and the downloads of all its versions; sorted by package name.
pub fn newest_per_package(versions: Vec<VersionRecord>) -> Vec<(VersionRecord, u64)> {
    let mut by_package: std::collections::BTreeMap<String, Vec<VersionRecord>> = Default::default();
    for v in versions {
        by_package.entry(v.package.clone()).or_default().push(v);
    }
    by_package
        .into_values()
        .filter_map(|versions| {
            let downloads = versions.iter().map(|v| v.downloads).sum();
            latest(versions).map(|v| (v, downloads))
        })
        .collect()
}

/// The newest non-yanked version, if any.
pub fn latest(mut versions: Vec<VersionRecord>) -> Option<VersionRecord> {
    sort_versions(&mut versions);
    versions.into_iter().rev().find(|v| !v.yanked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_are_validated() {
        let ok = parse_dependencies(r#"[{"name":"wasi:io","version":"^0.2"},{"name":"a:b","version":"1.0","optional":true}]"#).unwrap();
        assert_eq!(
            ok[0],
            json!({"name":"wasi:io","version":"^0.2","optional":false})
        );
        assert_eq!(ok[1]["optional"], true);
        for bad in [
            "{",
            "{}",
            r#"[{"version":"1"}]"#,
            r#"[{"name":"Bad","version":"1"}]"#,
            r#"[{"name":"a:b","version":"not semver"}]"#,
        ] {
            assert!(parse_dependencies(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_targets(r#"["wasm32-wasip2"]"#).unwrap(),
            ["wasm32-wasip2"]
        );
        assert!(parse_targets("wasm32").is_err());
    }
}
