//! Blob uploads: monolithic (POST+PUT, or one POST with `?digest=`), chunked (PATCH with
//! `Content-Range`), streamed (PATCH without it), status (GET), cancel (DELETE) and mounts.
//!
//! Sessions are rows in the metadata store and files in the blob store's upload area, so an
//! upload survives a restart and can be continued from the offset the status GET reports.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use wharf_core::range::parse_content_range;
use wharf_core::{Digest, RepoName};
use wharf_storage::{now_unix, ByteStream, UploadRecord};

use super::blobs::parse_digest;
use super::error::{Code, OciError, OciResult};
use super::{upload_range, Params};
use crate::AppState;

/// A request body as a byte stream that fails when the client sends nothing for `idle` (so a
/// stalled client cannot hold an upload forever), or sends more than `max` bytes (a chunk longer
/// than its `Content-Range`; the chunk that would cross the bound is not written).
fn body_stream(body: Body, idle: Duration, max: Option<u64>) -> ByteStream {
    let frames = body.into_data_stream();
    futures_util::stream::unfold((frames, 0u64, false), move |(mut frames, seen, done)| async move {
        if done {
            return None;
        }
        match tokio::time::timeout(idle, frames.next()).await {
            Err(_) => Some((
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no data received for {} s", idle.as_secs()),
                )),
                (frames, seen, true),
            )),
            Ok(None) => None,
            Ok(Some(Err(e))) => Some((Err(io::Error::other(e)), (frames, seen, true))),
            Ok(Some(Ok(chunk))) => {
                let seen = seen + chunk.len() as u64;
                match max.filter(|&m| seen > m) {
                    Some(m) => Some((
                        Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the body is longer than the {m} bytes its Content-Range announced"),
                        )),
                        (frames, seen, true),
                    )),
                    None => Some((Ok(chunk), (frames, seen, false))),
                }
            }
        }
    })
    .boxed()
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Rejects a body whose declared length already exceeds the blob limit, before reading it.
fn check_declared_length(state: &AppState, headers: &HeaderMap) -> OciResult<()> {
    match (state.config.blob_limit(), content_length(headers)) {
        (Some(limit), Some(len)) if len > limit => Err(OciError::too_large("blob", limit)),
        _ => Ok(()),
    }
}

fn upload_location(repo: &RepoName, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn upload_unknown() -> OciError {
    OciError::new(Code::BlobUploadUnknown, "blob upload unknown to registry")
}

/// 202/204 with the headers a client needs to continue the upload.
fn session_response(status: StatusCode, repo: &RepoName, id: &str, size: u64) -> Response {
    let mut res = (
        status,
        [
            (header::LOCATION, upload_location(repo, id)),
            (header::CONTENT_LENGTH, "0".to_owned()),
            (
                header::HeaderName::from_static("docker-upload-uuid"),
                id.to_owned(),
            ),
        ],
    )
        .into_response();
    // `0-0` would claim one byte: an empty upload has no `Range`.
    if size > 0 {
        if let Ok(v) = upload_range(size).parse() {
            res.headers_mut().insert(header::RANGE, v);
        }
    }
    res
}

/// 201 for a blob now readable in `repo`.
fn blob_created(repo: &RepoName, digest: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/v2/{repo}/blobs/{digest}")),
            (header::CONTENT_LENGTH, "0".to_owned()),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
        ],
    )
        .into_response()
}

/// The session `id` of `repo`, or BLOB_UPLOAD_UNKNOWN.
async fn session(state: &AppState, repo: &RepoName, id: &str) -> OciResult<UploadRecord> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(upload_unknown());
    }
    match state.meta.upload(id).await? {
        Some(u) if &u.repo == repo => Ok(u),
        _ => Err(upload_unknown()),
    }
}

/// POST `/v2/<name>/blobs/uploads/`
pub async fn start(
    state: &AppState,
    repo: RepoName,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
) -> OciResult<Response> {
    if let Some(mount) = params.get("mount") {
        let digest = parse_digest(mount)?;
        // A `from` that is not a valid name cannot hold the blob: no mount, an ordinary session.
        let from = match params.get("from") {
            None => Ok(None),
            Some(f) => RepoName::parse(f).map(Some),
        };
        if let Ok(from) = from {
            if try_mount(state, &repo, &digest, from.as_ref()).await? {
                return Ok(blob_created(&repo, &digest));
            }
        }
        // Not mountable: the spec says to open an ordinary session instead.
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Some(digest) = params.get("digest") {
        let digest = parse_digest(digest)?;
        check_declared_length(state, headers)?;
        state.blobs.upload_create(&id).await?;
        let stored = async {
            state
                .blobs
                .upload_append(
                    &id,
                    Some(0),
                    body_stream(body, state.config.body_idle_timeout(), None),
                    state.config.blob_limit(),
                )
                .await?;
            state.blobs.upload_commit(&id, Some(&digest)).await
        }
        .await;
        let size = match stored {
            Ok((_, size)) => size,
            Err(e) => {
                state.blobs.upload_abort(&id).await?;
                return Err(e.into());
            }
        };
        state.meta.link_blob(&repo, &digest, size).await?;
        return Ok(blob_created(&repo, &digest));
    }
    state.blobs.upload_create(&id).await?;
    let record = UploadRecord {
        id: id.clone(),
        repo: repo.clone(),
        created_at: now_unix(),
    };
    state.meta.create_upload(&record).await?;
    Ok(session_response(StatusCode::ACCEPTED, &repo, &id, 0))
}

/// Links an existing blob into `repo`: from `from` when named, else from anywhere in the
/// registry (automatic mount). False when there is nothing to mount.
async fn try_mount(
    state: &AppState,
    repo: &RepoName,
    digest: &Digest,
    from: Option<&RepoName>,
) -> OciResult<bool> {
    let size = match from {
        Some(from) => state.meta.linked_blob(from, digest).await?,
        None => state.meta.known_blob(digest).await?,
    };
    let Some(size) = size else { return Ok(false) };
    if state.blobs.stat(digest).await?.is_none() {
        tracing::error!(%digest, "blob is indexed but missing from the blob store");
        return Ok(false);
    }
    state.meta.link_blob(repo, digest, size).await?;
    Ok(true)
}

/// GET `<location>`: how much has been received, so a client can resume.
pub async fn status(state: &AppState, repo: RepoName, id: &str) -> OciResult<Response> {
    session(state, &repo, id).await?;
    let size = state
        .blobs
        .upload_size(id)
        .await?
        .ok_or_else(upload_unknown)?;
    Ok(session_response(StatusCode::NO_CONTENT, &repo, id, size))
}

/// Appends a request body to an upload: at the offset its `Content-Range` names, or at the end.
async fn append(state: &AppState, id: &str, headers: &HeaderMap, body: Body) -> OciResult<u64> {
    check_declared_length(state, headers)?;
    let range = match headers.get(header::CONTENT_RANGE) {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or("");
            let range = parse_content_range(text).map_err(|e| {
                OciError::new(Code::BlobUploadInvalid, format!("{e}, got {text:?}"))
            })?;
            if let Some(len) = content_length(headers).filter(|&l| l != range.len()) {
                return Err(OciError::new(
                    Code::SizeInvalid,
                    format!("Content-Length {len} does not match Content-Range {text}"),
                ));
            }
            Some(range)
        }
    };
    let limit = state.config.blob_limit();
    let size = state
        .blobs
        .upload_append(
            id,
            range.map(|r| r.start),
            body_stream(
                body,
                state.config.body_idle_timeout(),
                range.map(|r| r.len()),
            ),
            limit,
        )
        .await?;
    if let Some(r) = range.filter(|r| size != r.end + 1) {
        return Err(OciError::new(
            Code::SizeInvalid,
            format!("chunk {}-{} ended at offset {size}", r.start, r.end),
        ));
    }
    Ok(size)
}

/// PATCH `<location>`: one chunk (with `Content-Range`) or a stream (without).
pub async fn patch(
    state: &AppState,
    repo: RepoName,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> OciResult<Response> {
    session(state, &repo, id).await?;
    let size = append(state, id, headers, body).await?;
    Ok(session_response(StatusCode::ACCEPTED, &repo, id, size))
}

/// PUT `<location>?digest=`: an optional last chunk, then the digest check that makes the blob
/// visible.
pub async fn finish(
    state: &AppState,
    repo: RepoName,
    id: &str,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
) -> OciResult<Response> {
    let digest = params.get("digest").ok_or_else(|| {
        OciError::new(
            Code::DigestInvalid,
            "the digest query parameter is required",
        )
    })?;
    let digest = parse_digest(digest)?;
    session(state, &repo, id).await?;
    append(state, id, headers, body).await?;
    let (_, size) = state.blobs.upload_commit(id, Some(&digest)).await?;
    state.meta.link_blob(&repo, &digest, size).await?;
    state.meta.delete_upload(id).await?;
    Ok(blob_created(&repo, &digest))
}

/// DELETE `<location>`: abandons the upload.
pub async fn cancel(state: &AppState, repo: RepoName, id: &str) -> OciResult<Response> {
    session(state, &repo, id).await?;
    state.blobs.upload_abort(id).await?;
    state.meta.delete_upload(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
