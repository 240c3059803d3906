//! The package API, compatible with the Run 2.0 registry: list, versions, metadata, artifact
//! download, search, stats, publish (multipart), and yank/unyank. Errors answer
//! `{"error": {"code", "message"}}` with the matching status.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_core::PackageName;
use wharf_storage::{StorageError, VersionRecord};

use crate::auth::{self, Access, Denial};
use crate::services::artifact::{self, Stored};
use crate::services::packages::{self, PublishError, PublishMeta};
use crate::AppState;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/packages", get(list))
        .route("/api/v1/packages", post(publish))
        .route("/api/v1/packages/{name}/versions", get(versions))
        .route("/api/v1/packages/{name}/{version}", get(version_meta))
        .route("/api/v1/packages/{name}/{version}/yank", post(yank))
        .route("/api/v1/packages/{name}/{version}/unyank", post(unyank))
        .route("/packages/{name}/{version}/artifact.wasm", get(download))
        .route("/api/v1/search", get(search))
        .route("/api/v1/stats", get(stats))
}

/// An error of the package API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::internal("package storage failed", e)
    }
}

impl From<Denial> for ApiError {
    fn from(d: Denial) -> Self {
        match d {
            Denial::Unauthenticated { invalid: true } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the token is not valid",
            ),
            Denial::Unauthenticated { invalid: false } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a token is required: send Authorization: Bearer <token>",
            ),
            Denial::Forbidden { principal } => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{principal} may not publish in this namespace"),
            ),
            Denial::Storage(e) => ApiError::internal("token store failed", e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        (self.status, body).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn package_name(name: &str) -> ApiResult<PackageName> {
    PackageName::parse(name).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// A package name as one path segment: `run:calc/calculator` → `run%3Acalc%2Fcalculator`.
fn encode_name(name: &str) -> String {
    name.replace(':', "%3A").replace('/', "%2F")
}

/// The Run `PackageMeta` JSON, plus Wharf's extra fields.
fn meta_json(v: &VersionRecord, base: &str) -> Value {
    json!({
        "name": v.package,
        "version": v.version,
        "description": v.description,
        "license": v.license,
        "size": v.size,
        "sha256": v.sha256,
        "download_url": format!("{base}/packages/{}/{}/artifact.wasm", encode_name(&v.package), v.version),
        "wit_url": v.wit_url,
        "dependencies": v.dependencies,
        "targets": if v.targets.is_empty() { json!(["wasm32-wasip2"]) } else { json!(v.targets) },
        "repository": v.repository,
        "published_at": v.published_at,
        "imports": v.imports,
        "exports": v.exports,
        "yanked": v.yanked,
        "downloads": v.downloads,
    })
}

/// GET `/packages`
async fn list(State(state): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    Ok(Json(json!({"packages": state.meta.package_names().await?})))
}

/// GET `/api/v1/packages/{name}/versions`: non-yanked versions, in semver order.
async fn versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    let name = package_name(&name)?;
    let mut all = state.meta.package_versions(&name.to_string()).await?;
    if all.is_empty() {
        return Err(ApiError::not_found(format!("package {name} not found")));
    }
    packages::sort_versions(&mut all);
    let listed: Vec<&str> = all
        .iter()
        .filter(|v| !v.yanked)
        .map(|v| v.version.as_str())
        .collect();
    Ok(Json(json!({"name": name.to_string(), "versions": listed})))
}

async fn find_version(state: &AppState, name: &str, version: &str) -> ApiResult<VersionRecord> {
    let name = package_name(name)?;
    state
        .meta
        .package_version(&name.to_string(), version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{name}@{version} not found")))
}

/// GET `/api/v1/packages/{name}/{version}`: exact versions, yanked ones included.
async fn version_meta(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Json<Value>> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    let v = find_version(&state, &name, &version).await?;
    Ok(Json(meta_json(&v, &state.public_base(req.headers()))))
}

/// GET `/packages/{name}/{version}/artifact.wasm`: the artifact, streamed; counts a download.
async fn download(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Response> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    let v = find_version(&state, &name, &version).await?;
    let digest = wharf_core::Digest::parse(&format!("sha256:{}", v.sha256))
        .map_err(|e| ApiError::internal("stored sha256 is malformed", e))?;
    let Some(stream) = state.blobs.read(&digest, None).await? else {
        return Err(ApiError::internal(
            "artifact missing from the blob store",
            &digest,
        ));
    };
    state.meta.count_download(&v.package, &v.version).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/wasm".to_owned()),
            (header::CONTENT_LENGTH, v.size.to_string()),
            (header::ETAG, format!("\"{digest}\"")),
            (
                header::HeaderName::from_static("docker-content-digest"),
                digest.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// How well a package matches: lower is better. Name matches beat description matches beat
/// WIT interface matches.
fn rank(v: &VersionRecord, q: &str) -> u8 {
    let name = v.package.to_lowercase();
    let short = name.split_once(':').map_or(name.as_str(), |(_, n)| n);
    if q.is_empty() {
        5
    } else if name == q || short == q {
        0
    } else if name.starts_with(q) || short.starts_with(q) {
        1
    } else if name.contains(q) {
        2
    } else if v.description.to_lowercase().contains(q) {
        3
    } else {
        4
    }
}

/// GET `/api/v1/search?q=&limit=&offset=`: one entry per package (its newest non-yanked
/// version), ranked, then by name; `total` counts every match.
async fn search(
    State(state): State<AppState>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> ApiResult<Json<Value>> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let q = params.q.trim().to_lowercase();
    let limit = params.limit.unwrap_or(20).clamp(1, 100);
    let offset = params.offset.unwrap_or(0);
    let found = state.meta.search_versions(&q).await?;
    let mut hits: Vec<VersionRecord> = packages::newest_per_package(found)
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    hits.sort_by(|a, b| {
        rank(a, &q)
            .cmp(&rank(b, &q))
            .then_with(|| a.package.cmp(&b.package))
    });
    let base = state.public_base(req.headers());
    let total = hits.len();
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| meta_json(v, &base))
        .collect();
    Ok(Json(json!({"packages": page, "total": total})))
}

/// GET `/api/v1/stats`
async fn stats(State(state): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    state
        .authorize(req.headers(), auth::peer(&req), Access::Read)
        .await?;
    let s = state.meta.package_stats().await?;
    Ok(Json(json!({
        "package_count": s.packages,
        "version_count": s.versions,
        "download_count": s.downloads,
        "uptime_percent": 100.0,
    })))
}

async fn set_yanked(
    state: AppState,
    name: String,
    version: String,
    req: Request,
    yanked: bool,
) -> ApiResult<Json<Value>> {
    let peer = auth::peer(&req);
    state.authenticate_writer(req.headers(), peer).await?;
    let pkg = package_name(&name)?;
    state
        .authorize(req.headers(), peer, Access::Write(pkg.namespace()))
        .await?;
    if !state
        .meta
        .set_yanked(&pkg.to_string(), &version, yanked)
        .await?
    {
        return Err(ApiError::not_found(format!("{pkg}@{version} not found")));
    }
    let v = find_version(&state, &name, &version).await?;
    Ok(Json(meta_json(&v, &state.public_base(req.headers()))))
}

/// POST `/api/v1/packages/{name}/{version}/yank`: hidden from resolution and search, still
/// downloadable by exact version.
async fn yank(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Json<Value>> {
    set_yanked(state, name, version, req, true).await
}

/// POST `/api/v1/packages/{name}/{version}/unyank`
async fn unyank(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    req: Request,
) -> ApiResult<Json<Value>> {
    set_yanked(state, name, version, req, false).await
}

/// The largest text field of a publish form (descriptions, dependency lists).
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// Reads a text field, refusing more than [`MAX_TEXT_FIELD`] bytes.
async fn read_text(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request(format!("field {name}: {e}")))?
    {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("field {name} is longer than {MAX_TEXT_FIELD} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request(format!("field {name} is not UTF-8")))
}

/// Checks what can be checked before an artifact is stored, when the form sent `name` (and
/// `version`) first, as the Run client and the documented curl command do: the namespace scope
/// (403) and whether the version exists (409).
async fn precheck(
    state: &AppState,
    form: &Form,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> ApiResult<()> {
    let Some(name) = form.name.as_deref() else {
        return Ok(());
    };
    let name = package_name(name)?;
    state
        .authorize(headers, peer, Access::Write(name.namespace()))
        .await?;
    if let Some(version) = form.version.as_deref() {
        if state
            .meta
            .package_version(&name.to_string(), version)
            .await?
            .is_some()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{name}@{version} is already published; versions are immutable"),
            ));
        }
    }
    Ok(())
}

/// The text fields of a publish form.
#[derive(Default)]
struct Form {
    name: Option<String>,
    version: Option<String>,
    sha256: Option<String>,
    meta: PublishMeta,
}

impl Form {
    fn set(&mut self, field: &str, value: String) -> ApiResult<()> {
        let opt = |v: String| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        match field {
            "name" => self.name = opt(value),
            "version" => self.version = opt(value),
            "sha256" => self.sha256 = opt(value),
            "description" => self.meta.description = value.trim().to_owned(),
            "license" => self.meta.license = opt(value),
            "repository" => self.meta.repository = opt(value),
            "wit_url" => self.meta.wit_url = opt(value),
            "dependencies" if !value.trim().is_empty() => {
                self.meta.dependencies =
                    packages::parse_dependencies(&value).map_err(ApiError::bad_request)?
            }
            "targets" if !value.trim().is_empty() => {
                self.meta.targets =
                    packages::parse_targets(&value).map_err(ApiError::bad_request)?
            }
            _ => {} // unknown fields are ignored, as Run's registry does
        }
        Ok(())
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the upload exceeds the limit of {limit} bytes (REGISTRY_MAX_UPLOAD_MB)"),
    )
}

/// POST `/api/v1/packages` (multipart: name, version, description, license, repository,
/// wit_url, dependencies, targets, sha256, and the artifact as `component` or `artifact`).
///
/// Order: credentials (401) before anything is read; then the form, streamed (413 past the
/// limit); then the namespace scope (403); then validation (400); then the version (409).
async fn publish(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let peer = auth::peer(&req);
    let headers = req.headers().clone();
    state.authenticate_writer(&headers, peer).await?;
    let limit = state.config.limits.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit.saturating_add(64 * 1024)) {
        return Err(too_large(limit));
    }
    let mut multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::bad_request(format!("expected a multipart form: {e}")))?;
    let mut form = Form::default();
    let mut artifact: Option<Stored> = None;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?;
        let Some(mut field) = field else { break };
        let field_name = field.name().unwrap_or_default().to_owned();
        if field_name == "component" || field_name == "artifact" {
            if artifact.is_some() {
                return Err(ApiError::bad_request(
                    "send one artifact (`component` or `artifact`), not several",
                ));
            }
            if let Err(refused) = precheck(&state, &form, &headers, peer).await {
                // Read the rest of the body (bounded) before answering: a client still sending
                // would otherwise see a reset connection instead of the 403/409.
                let budget = limit.saturating_add(64 * 1024);
                let mut seen = 0u64;
                while let Ok(Some(chunk)) = field.chunk().await {
                    seen += chunk.len() as u64;
                    if seen > budget {
                        break;
                    }
                }
                while let Ok(Some(mut rest)) = multipart.next_field().await {
                    while let Ok(Some(chunk)) = rest.chunk().await {
                        seen += chunk.len() as u64;
                        if seen > budget {
                            return Err(refused);
                        }
                    }
                }
                return Err(refused);
            }
            artifact = Some(
                match artifact::store_field(&state, &mut field, Some(limit)).await {
                    Ok(stored) => stored,
                    Err(StorageError::TooLarge { limit }) => return Err(too_large(limit)),
                    Err(StorageError::Body(e)) => {
                        return Err(ApiError::bad_request(format!("the upload failed: {e}")))
                    }
                    Err(e) => return Err(e.into()),
                },
            );
        } else {
            let value = read_text(&mut field, &field_name).await?;
            form.set(&field_name, value)?;
        }
    }
    let name = form
        .name
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("the name field is required"))?;
    let name = package_name(name)?;
    state
        .authorize(&headers, peer, Access::Write(name.namespace()))
        .await?;
    let version = form
        .version
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("the version field is required"))?;
    let artifact = artifact.ok_or_else(|| {
        ApiError::bad_request(
            "the artifact is missing: send it as the `component` (or `artifact`) field",
        )
    })?;
    let published = packages::publish(
        &state,
        &name,
        version,
        form.meta,
        &artifact,
        form.sha256.as_deref(),
    )
    .await;
    match published {
        Ok(v) => {
            tracing::info!(package = %v.package, version = %v.version, "published");
            Ok((
                StatusCode::CREATED,
                Json(meta_json(&v, &state.public_base(&headers))),
            )
                .into_response())
        }
        Err(e @ PublishError::Conflict { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            e.to_string(),
        )),
        Err(e @ (PublishError::Invalid(_) | PublishError::Checksum { .. })) => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(PublishError::Storage(e)) => Err(e.into()),
    }
}
