//! Streaming a response body into a file, hashing it on the way; the file lands at its final
//! path only when its digest is the expected one.

use std::path::Path;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use wharf_core::{Digest, Hasher};

use crate::error::ClientError;

/// Writes `res`'s body to `dest` (through `dest` + `.partial`), calling `progress` with the bytes
/// received so far. Returns the size.
pub(crate) async fn verified_to_file(
    res: reqwest::Response,
    url: &str,
    dest: &Path,
    expected: &Digest,
    progress: impl Fn(u64),
) -> Result<u64, ClientError> {
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut file = tokio::fs::File::create(&partial).await?;
    let mut hasher = Hasher::new(expected.algorithm());
    let mut received = 0u64;
    let mut body = res.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|source| ClientError::Transport {
            url: url.to_owned(),
            source,
        })?;
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
        received += chunk.len() as u64;
        progress(received);
    }
    file.sync_all().await?;
    drop(file);
    let actual = hasher.finish();
    if &actual != expected {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(ClientError::DigestMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    tokio::fs::rename(&partial, dest).await?;
    Ok(received)
}
