//! The Simplism-compatible file registry: `POST /registry/push` (multipart field `file`),
//! `GET /registry/pull/<file>`, `GET /registry/discover`, `DELETE /registry/remove/<file>`.
//!
//! Each file is a tag of one repository (`files.repository`, default `files`), stored as a
//! single-layer OCI artifact. Answers are short text, as Simplism's are; discover answers JSON,
//! or a text table when the request's Content-Type or Accept is `text/plain`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::json;
use wharf_core::{RepoName, Tag};
use wharf_storage::StorageError;

use crate::auth::{self, Access, Denial};
use crate::services::artifact::{self, Stored};
use crate::AppState;

/// The `artifactType` of files kept by this surface.
pub const FILE_ARTIFACT_TYPE: &str = "application/vnd.wharf.file.v1";

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/registry/push", with_405(post(push)))
        .route("/registry/pull/{file}", with_405(get(pull)))
        .route("/registry/discover", with_405(get(discover)))
        .route(
            "/registry/remove/{file}",
            with_405(get(remove).delete(remove)),
        )
}

fn with_405(router: MethodRouter<AppState>) -> MethodRouter<AppState> {
    router.fallback(|| async { text(StatusCode::METHOD_NOT_ALLOWED, "😡 Method not allowed") })
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    let mut body = message.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn internal(context: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{context}");
    text(StatusCode::INTERNAL_SERVER_ERROR, "😡 internal error")
}

fn storage_error(e: StorageError, limit: u64) -> Response {
    match e {
        StorageError::TooLarge { .. } => text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("😡 the file exceeds the limit of {limit} bytes"),
        ),
        StorageError::Body(e) => text(StatusCode::BAD_REQUEST, format!("😡 upload failed: {e}")),
        other => internal("file storage failed", other),
    }
}

fn repository(state: &AppState) -> RepoName {
    RepoName::parse(&state.config.files.repository).expect("validated at startup")
}

/// Checks the request's credentials; the error is the answer to send.
async fn check(
    state: &AppState,
    headers: &HeaderMap,
    req_peer: Option<std::net::SocketAddr>,
    write: bool,
) -> Result<(), Response> {
    let repo = repository(state);
    let access = if write {
        Access::Write(repo.namespace())
    } else {
        Access::Read
    };
    match state.authorize(headers, req_peer, access).await {
        Ok(_) => Ok(()),
        Err(Denial::Unauthenticated { .. }) => {
            Err(text(StatusCode::UNAUTHORIZED, "😡 You're not authorized"))
        }
        Err(Denial::Forbidden { principal }) => Err(text(
            StatusCode::FORBIDDEN,
            format!("😡 {principal} may not change the file registry"),
        )),
        Err(Denial::Storage(e)) => Err(internal("token store failed", e)),
    }
}

/// A file name must be a valid tag; the error is the message to answer 400 with.
fn file_tag(name: &str) -> Result<Tag, String> {
    Tag::parse(name).map_err(|_| {
        format!("😡 invalid file name {name:?}: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")
    })
}

/// POST `/registry/push`
async fn push(State(state): State<AppState>, req: Request) -> Response {
    let peer = auth::peer(&req);
    let headers = req.headers().clone();
    if let Err(denied) = check(&state, &headers, peer, true).await {
        return denied;
    }
    let limit = state.config.limits.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    // The multipart envelope adds a little to the file; allow for it.
    if declared.is_some_and(|len| len > limit.saturating_add(64 * 1024)) {
        return storage_error(StorageError::TooLarge { limit }, limit);
    }
    let mut multipart = match Multipart::from_request(req, &state).await {
        Ok(m) => m,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("😡 expected a multipart form with a `file` field: {e}"),
            )
        }
    };
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "😡 Error Retrieving the File: no `file` field",
                )
            }
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("😡 malformed multipart body: {e}"),
                )
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let Some(name) = field.file_name().map(str::to_owned) else {
            return text(
                StatusCode::BAD_REQUEST,
                "😡 the `file` field needs a filename",
            );
        };
        let tag = match file_tag(&name) {
            Ok(t) => t,
            Err(message) => return text(StatusCode::BAD_REQUEST, message),
        };
        let stored: Stored = match artifact::store_field(&state, &mut field, Some(limit)).await {
            Ok(stored) => stored,
            Err(e) => return storage_error(e, limit),
        };
        let media_type = if name.ends_with(".wasm") {
            wharf_core::manifest::media_type::WASM_LAYER
        } else {
            "application/octet-stream"
        };
        let annotations = BTreeMap::from([
            (artifact::TITLE.to_owned(), name.clone()),
            (artifact::CREATED.to_owned(), artifact::now_rfc3339()),
        ]);
        let repo = repository(&state);
        return match artifact::tag_single_layer(
            &state,
            &repo,
            &tag,
            FILE_ARTIFACT_TYPE,
            &stored,
            media_type,
            annotations,
        )
        .await
        {
            Ok(_) => text(StatusCode::OK, format!("🎉 {name} successfully uploaded!")),
            Err(e) => storage_error(e, limit),
        };
    }
}

/// GET `/registry/pull/<file>`
async fn pull(State(state): State<AppState>, Path(file): Path<String>, req: Request) -> Response {
    if let Err(denied) = check(&state, req.headers(), auth::peer(&req), false).await {
        return denied;
    }
    let tag = match file_tag(&file) {
        Ok(t) => t,
        Err(_) => return text(StatusCode::NOT_FOUND, format!("😡 {file} not found")),
    };
    let repo = repository(&state);
    let record = match state.meta.tagged_manifest(&repo, &tag).await {
        Ok(Some(r)) => r,
        Ok(None) => return text(StatusCode::NOT_FOUND, format!("😡 {file} not found")),
        Err(e) => return internal("file lookup failed", e),
    };
    let layer = match artifact::first_layer(&state, &record.digest).await {
        Ok(Some(l)) => l,
        Ok(None) => return text(StatusCode::NOT_FOUND, format!("😡 {file} has no content")),
        Err(e) => return internal("reading a file manifest failed", e),
    };
    let stream = match state.blobs.read(&layer.digest, None).await {
        Ok(Some(s)) => s,
        Ok(None) => return internal("file content missing", &layer.digest),
        Err(e) => return internal("reading a file failed", e),
    };
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{tag}\""),
            ),
            (header::CONTENT_LENGTH, layer.size.to_string()),
            (header::CACHE_CONTROL, "private".to_owned()),
            (header::PRAGMA, "private".to_owned()),
            (header::EXPIRES, "Mon, 26 Jul 1997 05:00:00 GMT".to_owned()),
            (
                header::HeaderName::from_static("docker-content-digest"),
                layer.digest.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

fn wants_text(headers: &HeaderMap) -> bool {
    [header::CONTENT_TYPE, header::ACCEPT].iter().any(|h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/plain"))
    })
}

/// GET `/registry/discover`
async fn discover(State(state): State<AppState>, req: Request) -> Response {
    if let Err(denied) = check(&state, req.headers(), auth::peer(&req), false).await {
        return denied;
    }
    let repo = repository(&state);
    let tagged = match state.meta.tagged_manifests(&repo).await {
        Ok(t) => t,
        Err(e) => return internal("listing files failed", e),
    };
    let files: Vec<(String, String, String, u64)> = tagged
        .into_iter()
        .map(|(tag, m)| {
            let created = m
                .annotations
                .get(artifact::CREATED)
                .cloned()
                .unwrap_or_default();
            let size = m
                .annotations
                .get(artifact::SIZE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let path = format!("{repo}/{tag}");
            (tag, path, created, size)
        })
        .collect();
    if wants_text(req.headers()) {
        return text(StatusCode::OK, table(&files));
    }
    let body: Vec<_> = files
        .iter()
        .map(|(name, path, created, size)| json!({"name": name, "path": path, "created": created, "size": size}))
        .collect();
    Json(body).into_response()
}

/// The text table Simplism prints: NAME, PATH, SIZE, CREATED.
fn table(files: &[(String, String, String, u64)]) -> String {
    let rows: Vec<[String; 4]> = files
        .iter()
        .map(|(name, path, created, size)| {
            let created = created
                .replacen('T', " ", 1)
                .trim_end_matches('Z')
                .to_owned();
            [name.clone(), path.clone(), size.to_string(), created]
        })
        .collect();
    let head = ["NAME", "PATH", "SIZE", "CREATED"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&head])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = format!(
        "+{}+",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let line = |r: &[String; 4]| {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 2 {
                    format!(" {c:>w$} ")
                } else {
                    format!(" {c:<w$} ")
                }
            })
            .collect();
        format!("|{}|", cells.join("|"))
    };
    let mut out = vec![rule.clone(), line(&head), rule.clone()];
    out.extend(rows.iter().map(line));
    out.push(rule);
    out.join("\n")
}

/// DELETE (or GET, as Simplism's docs show it) `/registry/remove/<file>`
async fn remove(State(state): State<AppState>, Path(file): Path<String>, req: Request) -> Response {
    if let Err(denied) = check(&state, req.headers(), auth::peer(&req), true).await {
        return denied;
    }
    let Ok(tag) = Tag::parse(&file) else {
        return text(StatusCode::NOT_FOUND, format!("😡 {file} not found"));
    };
    match state.meta.delete_tag(&repository(&state), &tag).await {
        Ok(true) => text(StatusCode::OK, format!("🙂 {file} removed")),
        Ok(false) => text(StatusCode::NOT_FOUND, format!("😡 {file} not found")),
        Err(e) => internal("removing a file failed", e),
    }
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn table_aligns_columns() {
        let t = table(&[(
            "a.wasm".into(),
            "files/a.wasm".into(),
            "2026-01-02T03:04:05Z".into(),
            12,
        )]);
        let expected = "\
+--------+--------------+------+---------------------+
| NAME   | PATH         | SIZE | CREATED             |
+--------+--------------+------+---------------------+
| a.wasm | files/a.wasm |   12 | 2026-01-02 03:04:05 |
+--------+--------------+------+---------------------+";
        assert_eq!(t, expected);
    }
}
