//! Manifest parsing and validation: OCI image manifest and index, Docker schema 2 manifest and list.
//!
//! The registry stores the exact bytes it was sent; this module only reads what the registry must
//! know about them: the media type, the descriptors it references, `subject`, `artifactType`, and
//! annotations (copied into referrers listings).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Media types the registry understands.
pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
    pub const WASM_LAYER: &str = "application/wasm";
}

/// The largest manifest the registry accepts by default (the spec asks for at least 4 MiB).
pub const DEFAULT_MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Whether a manifest points at blobs (an image) or at other manifests (an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    Image,
    Index,
}

impl ManifestKind {
    fn of_media_type(mt: &str) -> Option<ManifestKind> {
        match mt {
            media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST => Some(ManifestKind::Image),
            media_type::OCI_INDEX | media_type::DOCKER_MANIFEST_LIST => Some(ManifestKind::Index),
            _ => None,
        }
    }
}

/// Why a manifest body was rejected (answered as `MANIFEST_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error("schemaVersion must be 2")]
    SchemaVersion,
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("Content-Type {content_type:?} does not match the manifest's mediaType {body:?}")]
    MediaTypeMismatch { content_type: String, body: String },
    #[error("manifest media type could not be determined: send Content-Type or set mediaType")]
    UnknownMediaType,
    #[error("an image manifest must have a config descriptor")]
    MissingConfig,
    #[error("an index must have a manifests array")]
    MissingManifests,
}

/// A content descriptor as it appears in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Where a non-distributable ("foreign") layer can be downloaded instead of from the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

impl Descriptor {
    /// A layer with `urls` is fetched from elsewhere and never pushed to the registry.
    pub fn is_foreign(&self) -> bool {
        self.urls.as_ref().is_some_and(|u| !u.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// What the registry needs to know about a validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    pub kind: ManifestKind,
    pub artifact_type: Option<String>,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

/// Strips parameters and whitespace: `application/json; charset=utf-8` → `application/json`.
pub fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

impl Manifest {
    /// Validates `body` as a manifest, given the request's Content-Type (if any).
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
        if raw.schema_version != Some(2) {
            return Err(ManifestError::SchemaVersion);
        }
        let header = content_type
            .map(essence)
            .filter(|ct| ManifestKind::of_media_type(ct).is_some());
        let media_type = match (header, raw.media_type.as_deref()) {
            (Some(h), Some(b)) if h != b => {
                return Err(ManifestError::MediaTypeMismatch {
                    content_type: h.to_owned(),
                    body: b.to_owned(),
                })
            }
            (Some(h), _) => h.to_owned(),
            (None, Some(b)) => b.to_owned(),
            (None, None) => match content_type.map(essence) {
                Some(ct) if !ct.is_empty() && ct != "application/json" => {
                    return Err(ManifestError::UnsupportedMediaType(ct.to_owned()))
                }
                _ if raw.manifests.is_some() => media_type::OCI_INDEX.to_owned(),
                _ if raw.config.is_some() => media_type::OCI_MANIFEST.to_owned(),
                _ => return Err(ManifestError::UnknownMediaType),
            },
        };
        let kind = ManifestKind::of_media_type(&media_type)
            .ok_or_else(|| ManifestError::UnsupportedMediaType(media_type.clone()))?;
        let (config, layers, manifests) = match kind {
            ManifestKind::Image => (
                Some(raw.config.ok_or(ManifestError::MissingConfig)?),
                raw.layers.unwrap_or_default(),
                Vec::new(),
            ),
            ManifestKind::Index => (
                None,
                Vec::new(),
                raw.manifests.ok_or(ManifestError::MissingManifests)?,
            ),
        };
        Ok(Manifest {
            media_type,
            kind,
            artifact_type: raw.artifact_type,
            config,
            layers,
            manifests,
            subject: raw.subject,
            annotations: raw.annotations,
        })
    }

    /// Blobs this manifest needs: its config and layers.
    pub fn blob_references(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(self.layers.iter())
    }

    /// The `artifactType` a referrers listing reports for this manifest: its own `artifactType`,
    /// else (for an image manifest) the config media type.
    pub fn referrer_artifact_type(&self) -> Option<String> {
        self.artifact_type
            .clone()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(data: &[u8]) -> String {
        Digest::sha256(data).to_string()
    }

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":1}}]{extra}}}"#,
            media_type::OCI_MANIFEST,
            d(b"{}"),
            d(b"a")
        )
    }

    #[test]
    fn parses_oci_image_manifest() {
        let m = Manifest::parse(image("").as_bytes(), Some(media_type::OCI_MANIFEST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert_eq!(m.blob_references().count(), 2);
        assert_eq!(
            m.referrer_artifact_type().as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
    }

    #[test]
    fn subject_artifact_type_and_annotations_are_read() {
        let extra = format!(
            r#","artifactType":"application/x-sig","subject":{{"mediaType":"{}","digest":"{}","size":9}},"annotations":{{"k":"v"}}"#,
            media_type::OCI_MANIFEST,
            d(b"subject")
        );
        let m = Manifest::parse(image(&extra).as_bytes(), None).unwrap();
        assert_eq!(
            m.subject.as_ref().unwrap().digest,
            Digest::sha256(b"subject")
        );
        assert_eq!(
            m.referrer_artifact_type().as_deref(),
            Some("application/x-sig")
        );
        assert_eq!(m.annotations.get("k").map(String::as_str), Some("v"));
    }

    #[test]
    fn parses_docker_list_by_content_type() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":3}}]}}"#,
            media_type::DOCKER_MANIFEST,
            d(b"m")
        );
        let m = Manifest::parse(body.as_bytes(), Some(media_type::DOCKER_MANIFEST_LIST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert_eq!(m.media_type, media_type::DOCKER_MANIFEST_LIST);
        assert_eq!(m.manifests.len(), 1);
    }

    #[test]
    fn rejects_invalid_manifests() {
        let cases: Vec<(String, Option<&str>)> = vec![
            ("not json".into(), None),
            (r#"{"schemaVersion":1}"#.into(), None),
            (image(""), Some(media_type::OCI_INDEX)),
            (
                r#"{"schemaVersion":2,"mediaType":"application/x-unknown"}"#.into(),
                None,
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
                    media_type::OCI_MANIFEST
                ),
                None,
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
                    media_type::OCI_INDEX
                ),
                None,
            ),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:bad","size":1}}"#
                    .into(),
                None,
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{}","size":-1}}}}"#,
                    d(b"")
                ),
                None,
            ),
        ];
        for (body, ct) in cases {
            assert!(
                Manifest::parse(body.as_bytes(), ct).is_err(),
                "{body} should be rejected"
            );
        }
    }

    #[test]
    fn content_type_parameters_are_ignored() {
        let ct = format!("{}; charset=utf-8", media_type::OCI_MANIFEST);
        assert!(Manifest::parse(image("").as_bytes(), Some(&ct)).is_ok());
    }
}
