//! The filesystem blob store: `blobs/<alg>/<xx>/<hex>` for content, `uploads/<id>` for uploads
//! in progress, `tmp/` for small writes. Every blob lands by fsync + rename, after its digest checks.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;
use wharf_core::{Algorithm, ByteRange, Digest, Hasher};

use crate::{BlobStore, ByteStream, StorageError};

const READ_CHUNK: usize = 256 * 1024;

/// Blobs on the local filesystem under one root directory.
pub struct FsBlobStore {
    root: PathBuf,
    /// Per-upload lock and running hash. Losing it (restart) costs a re-hash at commit, nothing else.
    uploads: Mutex<HashMap<String, Arc<tokio::sync::Mutex<UploadState>>>>,
}

#[derive(Default)]
struct UploadState {
    /// SHA-256 of the first `.0` bytes of the upload, kept while the upload grows.
    hash: Option<(u64, Hasher)>,
}

impl FsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        for dir in ["blobs", "uploads", "tmp"] {
            fs::create_dir_all(root.join(dir)).await?;
        }
        Ok(FsBlobStore {
            root,
            uploads: Mutex::new(HashMap::new()),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &str) -> Result<PathBuf, StorageError> {
        let safe = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !safe {
            return Err(StorageError::UploadNotFound(id.to_owned()));
        }
        Ok(self.root.join("uploads").join(id))
    }

    fn upload_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<UploadState>> {
        let mut map = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(id.to_owned()).or_default().clone()
    }

    fn forget_upload(&self, id: &str) {
        let mut map = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }

    /// Moves a fully written, fsync'd file to `dest` and makes the rename durable. Returns only
    /// once `dest` and the directories leading to it are durable, even when another request
    /// installed the same digest first.
    async fn install(&self, src: &Path, dest: &Path) -> Result<(), StorageError> {
        let parent = dest.parent().expect("blob paths have a parent");
        if !fs::try_exists(parent).await? {
            fs::create_dir_all(parent).await?;
            // New shard directories must survive a power loss too.
            let mut dir = parent;
            while let Some(up) = dir.parent() {
                sync_dir(up).await?;
                if up == self.root {
                    break;
                }
                dir = up;
            }
        }
        if fs::try_exists(dest).await? {
            // Same digest, same content: the existing copy wins, once its rename is durable.
            fs::remove_file(src).await?;
        } else {
            fs::rename(src, dest).await?;
        }
        sync_dir(parent).await?;
        Ok(())
    }
}

async fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

fn not_found_to_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Hashes a whole file on the blocking pool.
async fn hash_file(path: PathBuf, algorithm: Algorithm) -> io::Result<Digest> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Hasher::new(algorithm);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(&buf[..n]);
        }
    })
    .await
    .map_err(io::Error::other)?
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, StorageError> {
        let meta = not_found_to_none(fs::metadata(self.blob_path(digest)).await)?;
        Ok(meta.map(|m| m.len()))
    }

    async fn read(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<Option<ByteStream>, StorageError> {
        let Some(mut file) = not_found_to_none(File::open(self.blob_path(digest)).await)? else {
            return Ok(None);
        };
        let stream = match range {
            None => ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
            Some(r) => {
                file.seek(io::SeekFrom::Start(r.start)).await?;
                ReaderStream::with_capacity(file.take(r.len()), READ_CHUNK).boxed()
            }
        };
        Ok(Some(stream))
    }

    async fn put(&self, digest: &Digest, data: Bytes) -> Result<(), StorageError> {
        let dest = self.blob_path(digest);
        if fs::try_exists(&dest).await? {
            sync_dir(dest.parent().expect("blob paths have a parent")).await?;
            return Ok(());
        }
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let mut file = File::create(&tmp).await?;
        let written = async {
            file.write_all(&data).await?;
            file.sync_all().await
        }
        .await;
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        self.install(&tmp, &dest).await
    }

    async fn upload_create(&self, id: &str) -> Result<(), StorageError> {
        File::create(self.upload_path(id)?).await?;
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> Result<Option<u64>, StorageError> {
        let meta = not_found_to_none(fs::metadata(self.upload_path(id)?).await)?;
        Ok(meta.map(|m| m.len()))
    }

    async fn upload_append(
        &self,
        id: &str,
        offset: Option<u64>,
        mut body: ByteStream,
        limit: Option<u64>,
    ) -> Result<u64, StorageError> {
        let path = self.upload_path(id)?;
        let lock = self.upload_lock(id);
        let mut state = lock.lock().await;
        let Some(mut file) = not_found_to_none(OpenOptions::new().append(true).open(&path).await)?
        else {
            return Err(StorageError::UploadNotFound(id.to_owned()));
        };
        let mut size = file.metadata().await?.len();
        if let Some(given) = offset {
            if given != size {
                return Err(StorageError::OffsetMismatch {
                    given,
                    current: size,
                });
            }
        }
        // Continue the running hash only if it covers exactly what is on disk.
        let mut hasher = match state.hash.take() {
            Some((at, h)) if at == size => Some(h),
            _ if size == 0 => Some(Hasher::new(Algorithm::Sha256)),
            _ => None,
        };
        let mut outcome = Ok(());
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    outcome = Err(StorageError::Body(e));
                    break;
                }
            };
            let new_size = size + chunk.len() as u64;
            if let Some(limit) = limit.filter(|&l| new_size > l) {
                outcome = Err(StorageError::TooLarge { limit });
                break;
            }
            if let Err(e) = file.write_all(&chunk).await {
                // What reached the disk is unknown: drop the running hash, keep the file.
                let _ = file.flush().await;
                return Err(e.into());
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            size = new_size;
        }
        file.flush().await?;
        state.hash = hasher.map(|h| (size, h));
        outcome.map(|()| size)
    }

    async fn upload_commit(
        &self,
        id: &str,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), StorageError> {
        let path = self.upload_path(id)?;
        let lock = self.upload_lock(id);
        let mut state = lock.lock().await;
        let Some(file) = not_found_to_none(File::open(&path).await)? else {
            return Err(StorageError::UploadNotFound(id.to_owned()));
        };
        let size = file.metadata().await?.len();
        let algorithm = expected.map_or(Algorithm::Sha256, Digest::algorithm);
        let actual = match state.hash.clone() {
            Some((at, h)) if at == size && h.algorithm() == algorithm => h.finish(),
            _ => hash_file(path.clone(), algorithm).await?,
        };
        if let Some(expected) = expected.filter(|e| **e != actual) {
            return Err(StorageError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        file.sync_all().await?;
        drop(file);
        self.install(&path, &self.blob_path(&actual)).await?;
        state.hash = None;
        drop(state);
        self.forget_upload(id);
        Ok((actual, size))
    }

    async fn upload_abort(&self, id: &str) -> Result<(), StorageError> {
        let path = self.upload_path(id)?;
        let lock = self.upload_lock(id);
        let _state = lock.lock().await;
        not_found_to_none(fs::remove_file(path).await)?;
        self.forget_upload(id);
        Ok(())
    }
}

/// Collects a stream into memory (test helper and small manifests).
pub async fn collect(stream: ByteStream) -> io::Result<Vec<u8>> {
    stream
        .try_fold(Vec::new(), |mut acc, b| async move {
            acc.extend_from_slice(&b);
            Ok(acc)
        })
        .await
}
