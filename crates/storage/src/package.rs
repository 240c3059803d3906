//! Package records: what the package index keeps about each `namespace:name@version`.

use serde_json::Value;

/// One published version, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    pub package: String,
    pub namespace: String,
    pub version: String,
    pub description: String,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub wit_url: Option<String>,
    pub size: u64,
    /// Lowercase hex SHA-256 of the artifact.
    pub sha256: String,
    /// The OCI manifest (in repository `namespace/name`, tagged `version`) holding the artifact.
    pub manifest_digest: String,
    /// `[{"name", "version", "optional"}]`
    pub dependencies: Value,
    pub targets: Vec<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub yanked: bool,
    pub downloads: u64,
    pub published_at: i64,
}

/// Registry-wide counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackageStats {
    pub packages: u64,
    pub versions: u64,
    pub downloads: u64,
}
