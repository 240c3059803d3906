//! The blob-store trait: content-addressed bytes plus the scratch area where uploads are assembled.

use std::io;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use wharf_core::{ByteRange, Digest};

use crate::StorageError;

/// A stream of bytes, as read from a request body or from the store.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Content-addressed blob storage. Implementations: [`crate::FsBlobStore`] (S3 follows).
///
/// Uploads are identified by an opaque id; their bytes are invisible until
/// [`BlobStore::upload_commit`] verifies the digest and moves them into place.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The size of a stored blob, or `None`.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, StorageError>;

    /// Streams a stored blob, or the given range of it; `None` if the blob is not stored.
    async fn read(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<Option<ByteStream>, StorageError>;

    /// Stores small content (a manifest) whose digest the caller has computed from `data`.
    async fn put(&self, digest: &Digest, data: Bytes) -> Result<(), StorageError>;

    /// Starts an empty upload.
    async fn upload_create(&self, id: &str) -> Result<(), StorageError>;

    /// The number of bytes received so far, or `None` if the upload does not exist.
    async fn upload_size(&self, id: &str) -> Result<Option<u64>, StorageError>;

    /// Appends `body` to the upload. `offset`, when given, must equal the current size.
    /// The total size may not exceed `limit`. Returns the new size.
    async fn upload_append(
        &self,
        id: &str,
        offset: Option<u64>,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<u64, StorageError>;

    /// Makes the upload durable and visible as a blob, and removes the upload. With `expected`,
    /// the content must have that digest (on a mismatch the upload is left as it was); without,
    /// the blob is stored under its SHA-256. Returns the blob's digest and size.
    async fn upload_commit(
        &self,
        id: &str,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), StorageError>;

    /// Discards an upload. Unknown ids are not an error.
    async fn upload_abort(&self, id: &str) -> Result<(), StorageError>;
}
