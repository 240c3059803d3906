//! The metadata-store trait: the index of repositories, blob links, manifests, tags and uploads.
//! Listing, search and GC read this index; they never walk the blob store.

use std::collections::BTreeMap;

use async_trait::async_trait;
use wharf_core::auth::Scope;
use wharf_core::{Digest, RepoName, Tag};

use crate::{PackageStats, StorageError, VersionRecord};

/// A manifest about to be recorded. Its bytes must already be in the blob store.
#[derive(Debug, Clone)]
pub struct NewManifest {
    pub repo: RepoName,
    pub digest: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    pub size: u64,
    pub annotations: BTreeMap<String, String>,
    /// Digests of the blobs and manifests it references.
    pub references: Vec<Digest>,
}

/// A stored manifest's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRecord {
    pub digest: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    pub size: u64,
    pub annotations: BTreeMap<String, String>,
    pub created_at: i64,
}

/// An upload session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: String,
    pub repo: RepoName,
    pub created_at: i64,
}

/// An API token, without the token itself (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// One page of a listing: `n` items after `last` (exclusive), in byte order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    pub last: Option<&'a str>,
    pub limit: Option<u32>,
}

/// The metadata index. Implementations: [`crate::SqliteMetadataStore`] (PostgreSQL follows).
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Whether the repository has ever received a blob link or manifest.
    async fn repo_exists(&self, repo: &RepoName) -> Result<bool, StorageError>;

    /// Repositories holding at least one manifest.
    async fn list_repositories(&self, page: Page<'_>) -> Result<Vec<String>, StorageError>;

    /// The size of a blob linked to `repo`.
    async fn linked_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<u64>, StorageError>;

    /// The size of a blob known to the registry in any repository.
    async fn known_blob(&self, digest: &Digest) -> Result<Option<u64>, StorageError>;

    /// Records a stored blob and links it to `repo` (creating the repository).
    async fn link_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
    ) -> Result<(), StorageError>;

    /// Removes a blob's link from `repo`; false if it was not linked.
    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool, StorageError>;

    /// Records a manifest (and points `tags` at it), atomically.
    async fn put_manifest(&self, m: &NewManifest, tags: &[Tag]) -> Result<(), StorageError>;

    async fn manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<ManifestRecord>, StorageError>;

    /// The manifest a tag points at.
    async fn tagged_manifest(
        &self,
        repo: &RepoName,
        tag: &Tag,
    ) -> Result<Option<ManifestRecord>, StorageError>;

    /// Deletes a manifest and every tag pointing at it; false if it did not exist.
    async fn delete_manifest(&self, repo: &RepoName, digest: &Digest)
        -> Result<bool, StorageError>;

    /// Deletes one tag; false if it did not exist.
    async fn delete_tag(&self, repo: &RepoName, tag: &Tag) -> Result<bool, StorageError>;

    async fn list_tags(&self, repo: &RepoName, page: Page<'_>)
        -> Result<Vec<String>, StorageError>;

    /// Every tag of `repo` with the manifest it points at, in tag order.
    async fn tagged_manifests(
        &self,
        repo: &RepoName,
    ) -> Result<Vec<(String, ManifestRecord)>, StorageError>;

    /// Every repository with at least one tag, with its tags.
    async fn all_tags(&self) -> Result<Vec<(String, Vec<String>)>, StorageError>;

    /// Manifests in `repo` whose subject is `subject`, optionally of one artifact type.
    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ManifestRecord>, StorageError>;

    /// Stores a new token under the hash of its secret.
    async fn create_token(&self, token: &TokenRecord, hash: &str) -> Result<(), StorageError>;

    /// The active (not revoked) token whose secret hashes to `hash`.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StorageError>;

    /// Every token, revoked ones included, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StorageError>;

    /// Revokes a token; false if no active token has this id.
    async fn revoke_token(&self, id: &str) -> Result<bool, StorageError>;

    /// Whether any active token exists.
    async fn has_active_tokens(&self) -> Result<bool, StorageError>;

    /// Records a package version — and, when given, its manifest and tag — atomically. A version
    /// that exists already is [`StorageError::Conflict`] and changes nothing. The package's
    /// description, license and repository follow its newest publish.
    async fn publish_version(
        &self,
        version: &VersionRecord,
        manifest: Option<(&NewManifest, &Tag)>,
    ) -> Result<(), StorageError>;

    /// Every version of a package (yanked ones included), in no particular order.
    async fn package_versions(&self, package: &str) -> Result<Vec<VersionRecord>, StorageError>;

    async fn package_version(
        &self,
        package: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, StorageError>;

    /// Every package name, sorted.
    async fn package_names(&self) -> Result<Vec<String>, StorageError>;

    /// Versions of packages whose name, description, or WIT imports/exports contain `needle`
    /// (case-insensitive), yanked ones excluded. An empty needle matches everything.
    async fn search_versions(&self, needle: &str) -> Result<Vec<VersionRecord>, StorageError>;

    /// Marks a version yanked or not; false if it does not exist.
    async fn set_yanked(
        &self,
        package: &str,
        version: &str,
        yanked: bool,
    ) -> Result<bool, StorageError>;

    /// Counts one download of a version.
    async fn count_download(&self, package: &str, version: &str) -> Result<(), StorageError>;

    async fn package_stats(&self) -> Result<PackageStats, StorageError>;

    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), StorageError>;
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StorageError>;
    async fn delete_upload(&self, id: &str) -> Result<(), StorageError>;
}
