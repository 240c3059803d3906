//! Wharf storage: the [`BlobStore`] and [`MetadataStore`] traits and their embedded backends
//! (local filesystem blobs, SQLite metadata). All SQL in Wharf lives in this crate.
//!
//! Rule: a blob becomes visible only after its digest is verified and it is durably stored;
//! metadata rows that point at blobs are written only after the blob is.

pub mod blob;
pub mod error;
pub mod fs;
pub mod meta;
pub mod package;
pub mod sqlite;

pub use blob::{BlobStore, ByteStream};
pub use error::StorageError;
pub use fs::FsBlobStore;
pub use meta::{ManifestRecord, MetadataStore, NewManifest, Page, TokenRecord, UploadRecord};
pub use package::{PackageStats, VersionRecord};
pub use sqlite::SqliteMetadataStore;

/// Seconds since the Unix epoch, the timestamp unit of every metadata table.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
