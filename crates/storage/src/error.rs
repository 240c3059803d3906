//! The storage error type shared by every backend.

use wharf_core::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("upload {0} not found")]
    UploadNotFound(String),
    #[error("content digest {actual} does not match the expected {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("chunk starts at {given} but the upload is at offset {current}")]
    OffsetMismatch { given: u64, current: u64 },
    /// The record exists and may not be replaced (a published package version).
    #[error("{0} already exists")]
    Conflict(String),
    #[error("upload exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The request body ended early or the client went away: not the server's fault.
    #[error("request body failed: {0}")]
    Body(std::io::Error),
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("metadata database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("metadata database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored metadata is corrupt: {0}")]
    Corrupt(String),
}
