//! Single-file OCI artifacts: how a Simplism file (and, later, a package) is kept in the OCI
//! store. The file is one layer; the manifest is an OCI image manifest with an `artifactType`,
//! tagged in its repository, so any OCI client can pull it too.

use std::collections::BTreeMap;
use std::io;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use wharf_core::manifest::media_type;
use wharf_core::{Digest, RepoName, Tag};
use wharf_storage::{ByteStream, NewManifest, StorageError};

use crate::App;

/// The OCI empty descriptor's content and media type (image-spec 1.1), used as config.
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// Annotation keys Wharf writes on single-file artifacts.
pub const TITLE: &str = "org.opencontainers.image.title";
pub const CREATED: &str = "org.opencontainers.image.created";
/// The layer's size, so listings need not read manifests from the blob store.
pub const SIZE: &str = "dev.wharf.content.size";

/// A stored blob: its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub digest: Digest,
    pub size: u64,
}

/// Streams `body` into a new blob (hashed as it is written, at most `limit` bytes) and returns
/// it. Nothing is visible until the blob is complete and verified.
pub async fn store_stream(
    app: &App,
    body: ByteStream,
    limit: Option<u64>,
) -> Result<Stored, StorageError> {
    let id = uuid::Uuid::new_v4().to_string();
    app.blobs.upload_create(&id).await?;
    let stored = async {
        app.blobs.upload_append(&id, Some(0), body, limit).await?;
        app.blobs.upload_commit(&id, None).await
    }
    .await;
    match stored {
        Ok((digest, size)) => Ok(Stored { digest, size }),
        Err(e) => {
            app.blobs.upload_abort(&id).await?;
            Err(e)
        }
    }
}

/// Streams one multipart field into a new blob (see [`store_stream`]). The field borrows the
/// request, so its chunks are handed through a channel to a task that owns the writing.
pub async fn store_field(
    app: &crate::AppState,
    field: &mut axum::extract::multipart::Field<'_>,
    limit: Option<u64>,
) -> Result<Stored, StorageError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(8);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed();
    let writer = tokio::spawn({
        let app = app.clone();
        async move { store_stream(&app, stream, limit).await }
    });
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if tx.send(Ok(chunk)).await.is_err() {
                    break; // the writer stopped early (size limit)
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Err(io::Error::other(e))).await;
                break;
            }
        }
    }
    drop(tx);
    writer
        .await
        .map_err(|e| StorageError::Io(io::Error::other(format!("upload task failed: {e}"))))?
}

/// Records `layer` (already stored) as the single layer of an artifact tagged `tag` in `repo`.
/// The blob links and the manifest land before the tag, in that order, so a reader never sees
/// a tag pointing at something incomplete. Returns the manifest digest.
pub async fn tag_single_layer(
    app: &App,
    repo: &RepoName,
    tag: &Tag,
    artifact_type: &str,
    layer: &Stored,
    layer_media_type: &str,
    mut annotations: BTreeMap<String, String>,
) -> Result<Digest, StorageError> {
    let config = Digest::sha256(EMPTY_CONFIG);
    app.blobs
        .put(&config, Bytes::from_static(EMPTY_CONFIG))
        .await?;
    app.meta
        .link_blob(repo, &config, EMPTY_CONFIG.len() as u64)
        .await?;
    app.meta.link_blob(repo, &layer.digest, layer.size).await?;
    annotations.insert(SIZE.to_owned(), layer.size.to_string());
    let title = annotations.get(TITLE).cloned();
    let mut layer_desc = json!({
        "mediaType": layer_media_type,
        "digest": layer.digest.to_string(),
        "size": layer.size,
    });
    if let Some(title) = title {
        layer_desc["annotations"] = json!({ TITLE: title });
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": config.to_string(), "size": EMPTY_CONFIG.len()},
        "layers": [layer_desc],
        "annotations": annotations,
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("JSON values serialize"));
    let digest = Digest::sha256(&bytes);
    app.blobs.put(&digest, bytes.clone()).await?;
    let record = NewManifest {
        repo: repo.clone(),
        digest: digest.clone(),
        media_type: media_type::OCI_MANIFEST.to_owned(),
        artifact_type: Some(artifact_type.to_owned()),
        subject: None,
        size: bytes.len() as u64,
        annotations,
        references: vec![config, layer.digest.clone()],
    };
    app.meta
        .put_manifest(&record, std::slice::from_ref(tag))
        .await?;
    Ok(digest)
}

/// The first layer of a stored manifest.
pub async fn first_layer(app: &App, manifest: &Digest) -> Result<Option<Stored>, StorageError> {
    let Some(stream) = app.blobs.read(manifest, None).await? else {
        return Ok(None);
    };
    let bytes = wharf_storage::fs::collect(stream).await?;
    let parsed = wharf_core::Manifest::parse(&bytes, None)
        .map_err(|e| StorageError::Corrupt(format!("stored manifest {manifest}: {e}")))?;
    Ok(parsed.layers.first().map(|l| Stored {
        digest: l.digest.clone(),
        size: l.size,
    }))
}

/// Now, as RFC 3339 (the form of the `created` annotation).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
