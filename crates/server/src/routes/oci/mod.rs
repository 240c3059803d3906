//! The OCI Distribution v1.1 surface (`/v2/...`).
//!
//! One catch-all route: [`path::OciPath`] turns the path into a typed endpoint, [`dispatch`] picks
//! the handler by endpoint and method, and every failure answers in the spec's error format.

mod blobs;
pub mod error;
mod listing;
mod manifests;
pub mod path;
mod uploads;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use wharf_core::RepoName;

use self::error::{Code, OciError, OciResult};
use self::path::OciPath;
use crate::auth::{self, Access, Denial, ANONYMOUS_TOKEN};
use crate::AppState;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    let v2 = Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
        .layer(middleware::from_fn(api_version_header));
    app.merge(v2)
}

/// Every `/v2` answer says which API it speaks.
async fn api_version_header(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    res
}

/// Query parameters, in order, repeated keys kept (`?tag=a&tag=b`).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The inclusive `Range` header value for an upload holding `size` bytes (`size > 0`; an empty
/// upload has no range, and answers carry no `Range` header).
pub fn upload_range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn repo(name: &str) -> OciResult<RepoName> {
    RepoName::parse(name).map_err(OciError::name_invalid)
}

async fn dispatch(
    State(state): State<AppState>,
    method: Method,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_owned();
    let rest = path
        .strip_prefix("/v2/")
        .or_else(|| path.strip_prefix("/v2"))
        .unwrap_or("");
    let result = match query {
        Ok(Query(q)) => route_request(&state, method, rest, Params(q), req).await,
        Err(e) => Err(
            OciError::new(Code::Unsupported, format!("invalid query string: {e}"))
                .status(StatusCode::BAD_REQUEST),
        ),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Checks credentials before anything else about the request is validated.
async fn authorize(
    state: &AppState,
    endpoint: &OciPath<'_>,
    method: &Method,
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> OciResult<()> {
    let read_only = matches!(*method, Method::GET | Method::HEAD);
    let (name, access) = match endpoint {
        OciPath::Base => return authorize_base(state, headers).await,
        OciPath::Catalog | OciPath::AllTags => (None, Access::Read),
        OciPath::Tags { name } | OciPath::Referrers { name, .. } => (Some(*name), Access::Read),
        OciPath::Manifest { name, .. } | OciPath::Blob { name, .. } if read_only => {
            (Some(*name), Access::Read)
        }
        OciPath::Manifest { name, .. }
        | OciPath::Blob { name, .. }
        | OciPath::Uploads { name }
        | OciPath::Upload { name, .. } => (Some(*name), Access::Write(namespace_of(name))),
    };
    match state.authorize(headers, peer, access).await {
        Ok(_) => Ok(()),
        Err(denial) => {
            let actions = if access == Access::Read {
                "pull"
            } else {
                "pull,push"
            };
            let scope = name.map(|n| format!("repository:{n}:{actions}"));
            Err(denied(state, headers, denial, scope.as_deref()))
        }
    }
}

/// `GET /v2/` tells clients whether they must authenticate: once tokens exist, it answers 401
/// with a challenge to requests that carry no credentials (the anonymous token counts as one).
async fn authorize_base(state: &AppState, headers: &axum::http::HeaderMap) -> OciResult<()> {
    let token = auth::presented_token(headers);
    if token.as_deref() == Some(ANONYMOUS_TOKEN) {
        return Ok(());
    }
    let configured = state
        .auth_configured()
        .await
        .map_err(|e| OciError::internal("token store failed", e))?;
    match state.principal(token.as_deref()).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) if !configured => Ok(()),
        Ok(None) => Err(denied(
            state,
            headers,
            Denial::Unauthenticated { invalid: false },
            None,
        )),
        Err(denial) => Err(denied(state, headers, denial, None)),
    }
}

/// The namespace a repository belongs to: its first path component.
fn namespace_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

fn denied(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    denial: Denial,
    scope: Option<&str>,
) -> OciError {
    match denial {
        Denial::Unauthenticated { invalid } => OciError::new(
            Code::Unauthorized,
            if invalid {
                "the token is not valid"
            } else {
                "authentication required"
            },
        )
        .header(
            header::WWW_AUTHENTICATE,
            &auth::challenge(&state.public_base(headers), scope),
        ),
        Denial::Forbidden { principal } => OciError::new(
            Code::Denied,
            format!("{principal} may not do this: requested access to the resource is denied"),
        ),
        Denial::Storage(e) => OciError::internal("token store failed", e),
    }
}

async fn route_request(
    state: &AppState,
    method: Method,
    rest: &str,
    params: Params,
    req: Request,
) -> OciResult<Response> {
    let Some(endpoint) = OciPath::parse(rest) else {
        return Err(
            OciError::new(Code::NameUnknown, "no such endpoint or repository")
                .status(StatusCode::NOT_FOUND)
                .detail(serde_json::json!({ "path": format!("/v2/{rest}") })),
        );
    };
    let peer = auth::peer(&req);
    authorize(state, &endpoint, &method, req.headers(), peer).await?;
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let head = method == Method::HEAD;
    match (endpoint, &method) {
        (OciPath::Base, &Method::GET | &Method::HEAD) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            if head {
                Body::empty()
            } else {
                Body::from("{}")
            },
        )
            .into_response()),
        (OciPath::Catalog, &Method::GET) => listing::catalog(state, &params).await,
        (OciPath::AllTags, &Method::GET) => listing::all_tags(state).await,
        (OciPath::Tags { name }, &Method::GET) => listing::tags(state, repo(name)?, &params).await,
        (OciPath::Referrers { name, digest }, &Method::GET) => {
            listing::referrers(state, repo(name)?, digest, &params).await
        }
        (OciPath::Manifest { name, reference }, &Method::GET | &Method::HEAD) => {
            manifests::get(state, repo(name)?, reference, head).await
        }
        (OciPath::Manifest { name, reference }, &Method::PUT) => {
            manifests::put(state, repo(name)?, reference, &params, headers, body).await
        }
        (OciPath::Manifest { name, reference }, &Method::DELETE) => {
            manifests::delete(state, repo(name)?, reference).await
        }
        (OciPath::Blob { name, digest }, &Method::GET | &Method::HEAD) => {
            blobs::get(state, repo(name)?, digest, headers, head).await
        }
        (OciPath::Blob { name, digest }, &Method::DELETE) => {
            blobs::delete(state, repo(name)?, digest).await
        }
        (OciPath::Uploads { name }, &Method::POST) => {
            uploads::start(state, repo(name)?, &params, headers, body).await
        }
        (OciPath::Upload { name, id }, &Method::GET) => {
            uploads::status(state, repo(name)?, id).await
        }
        (OciPath::Upload { name, id }, &Method::PATCH) => {
            uploads::patch(state, repo(name)?, id, headers, body).await
        }
        (OciPath::Upload { name, id }, &Method::PUT) => {
            uploads::finish(state, repo(name)?, id, &params, headers, body).await
        }
        (OciPath::Upload { name, id }, &Method::DELETE) => {
            uploads::cancel(state, repo(name)?, id).await
        }
        _ => Err(OciError::unsupported_method()),
    }
}
