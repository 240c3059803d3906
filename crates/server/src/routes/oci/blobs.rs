//! Blob reads (GET/HEAD, with `Range`) and deletes. A repository sees only the blobs linked to it.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use wharf_core::range::{resolve_range, RangeError};
use wharf_core::{Digest, RepoName};

use super::error::{Code, OciError, OciResult};
use crate::AppState;

pub fn parse_digest(s: &str) -> OciResult<Digest> {
    Digest::parse(s).map_err(OciError::digest_invalid)
}

fn blob_unknown(digest: &Digest) -> OciError {
    OciError::new(Code::BlobUnknown, "blob unknown to registry")
        .detail(serde_json::json!({ "digest": digest.to_string() }))
}

pub async fn get(
    state: &AppState,
    repo: RepoName,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> OciResult<Response> {
    let digest = parse_digest(digest)?;
    let Some(size) = state.meta.linked_blob(&repo, &digest).await? else {
        return Err(blob_unknown(&digest));
    };
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(value) => match resolve_range(value, size) {
            Ok(r) => r,
            Err(RangeError::Unsatisfiable | RangeError::Malformed) => {
                return Err(
                    OciError::new(Code::BlobUnknown, "requested range not satisfiable")
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, &format!("bytes */{size}")),
                );
            }
        },
    };
    let (status, length) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.len()),
        None => (StatusCode::OK, size),
    };
    let body = if head {
        Body::empty()
    } else {
        match state.blobs.read(&digest, range).await? {
            Some(stream) => Body::from_stream(stream),
            None => {
                tracing::error!(%digest, "blob is indexed but missing from the blob store");
                return Err(blob_unknown(&digest));
            }
        }
    };
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        "application/octet-stream".parse().unwrap(),
    );
    h.insert(header::CONTENT_LENGTH, length.into());
    h.insert(header::ACCEPT_RANGES, "bytes".parse().unwrap());
    h.insert("docker-content-digest", digest.to_string().parse().unwrap());
    h.insert(header::ETAG, format!("\"{digest}\"").parse().unwrap());
    h.insert(header::CACHE_CONTROL, "max-age=31536000".parse().unwrap());
    if let Some(r) = range {
        h.insert(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", r.start, r.end)
                .parse()
                .unwrap(),
        );
    }
    Ok(res)
}

pub async fn delete(state: &AppState, repo: RepoName, digest: &str) -> OciResult<Response> {
    let digest = parse_digest(digest)?;
    if !state.meta.unlink_blob(&repo, &digest).await? {
        return Err(blob_unknown(&digest));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
