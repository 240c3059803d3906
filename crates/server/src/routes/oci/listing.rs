//! Listings: a repository's tags, the catalog, every repository's tags, and referrers. Tag and
//! catalog pages follow the spec's `n`/`last` rules with an RFC 8288 `Link` to the next page.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use wharf_core::manifest::media_type;
use wharf_core::RepoName;
use wharf_storage::Page;

use super::blobs::parse_digest;
use super::error::{Code, OciError, OciResult};
use super::Params;
use crate::AppState;

/// The most entries one page returns; a larger `n` is capped and the rest offered by `Link`.
pub const MAX_PAGE: u32 = 10_000;

/// The `n` and `last` of a listing request. Without `n` the whole list is returned.
struct Paging<'a> {
    n: Option<u32>,
    last: Option<&'a str>,
}

impl<'a> Paging<'a> {
    fn from_params(params: &'a Params) -> OciResult<Self> {
        let n = match params.get("n") {
            None | Some("") => None,
            Some(n) => Some(n.parse::<u32>().map_err(|_| {
                OciError::new(Code::Unsupported, "n must be a non-negative integer")
                    .status(StatusCode::BAD_REQUEST)
            })?),
        };
        Ok(Paging {
            n: n.map(|n| n.min(MAX_PAGE)),
            last: params.get("last").filter(|l| !l.is_empty()),
        })
    }

    /// The store query: one entry more than `n`, to learn whether another page follows.
    /// `None` when `n=0` asks for nothing.
    fn query(&self) -> Option<Page<'a>> {
        (self.n != Some(0)).then_some(Page {
            last: self.last,
            limit: self.n.map(|n| n + 1),
        })
    }

    /// Trims the extra entry and builds the `Link` to the next page.
    fn finish(&self, mut items: Vec<String>, base: &str) -> (Vec<String>, Option<String>) {
        let link = match self.n {
            Some(n) if items.len() > n as usize => {
                items.truncate(n as usize);
                items
                    .last()
                    .map(|last| format!("<{base}?n={n}&last={last}>; rel=\"next\""))
            }
            _ => None,
        };
        (items, link)
    }
}

fn with_link(body: Value, link: Option<String>) -> Response {
    let mut res = Json(body).into_response();
    if let Some(link) = link.and_then(|l| l.parse().ok()) {
        res.headers_mut().insert(header::LINK, link);
    }
    res
}

/// GET `/v2/<name>/tags/list`
pub async fn tags(state: &AppState, repo: RepoName, params: &Params) -> OciResult<Response> {
    if !state.meta.repo_exists(&repo).await? {
        return Err(
            OciError::new(Code::NameUnknown, "repository name not known to registry")
                .detail(json!({ "name": repo.as_str() })),
        );
    }
    let paging = Paging::from_params(params)?;
    let tags = match paging.query() {
        Some(page) => state.meta.list_tags(&repo, page).await?,
        None => Vec::new(),
    };
    let (tags, link) = paging.finish(tags, &format!("/v2/{repo}/tags/list"));
    Ok(with_link(
        json!({ "name": repo.as_str(), "tags": tags }),
        link,
    ))
}

/// GET `/v2/_catalog`
pub async fn catalog(state: &AppState, params: &Params) -> OciResult<Response> {
    let paging = Paging::from_params(params)?;
    let repos = match paging.query() {
        Some(page) => state.meta.list_repositories(page).await?,
        None => Vec::new(),
    };
    let (repos, link) = paging.finish(repos, "/v2/_catalog");
    Ok(with_link(json!({ "repositories": repos }), link))
}

/// GET `/v2/tags/list`: `[{"name", "tags"}]` for every repository with tags.
pub async fn all_tags(state: &AppState) -> OciResult<Response> {
    let all = state.meta.all_tags().await?;
    let body: Vec<Value> = all
        .into_iter()
        .map(|(name, tags)| json!({ "name": name, "tags": tags }))
        .collect();
    Ok(Json(body).into_response())
}

/// GET `/v2/<name>/referrers/<digest>[?artifactType=]`: an image index of the manifests whose
/// subject is `<digest>`. Always 200 when the digest is well formed.
pub async fn referrers(
    state: &AppState,
    repo: RepoName,
    digest: &str,
    params: &Params,
) -> OciResult<Response> {
    let subject = parse_digest(digest)?;
    let filter = params.get("artifactType").filter(|t| !t.is_empty());
    let found = state.meta.referrers(&repo, &subject, filter).await?;
    let manifests: Vec<Value> = found
        .into_iter()
        .map(|m| {
            let mut d = json!({
                "mediaType": m.media_type,
                "digest": m.digest.to_string(),
                "size": m.size,
            });
            if let Some(t) = m.artifact_type {
                d["artifactType"] = json!(t);
            }
            if !m.annotations.is_empty() {
                d["annotations"] = json!(m.annotations);
            }
            d
        })
        .collect();
    let body = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": manifests,
    });
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, media_type::OCI_INDEX.parse().unwrap());
    if filter.is_some() {
        h.insert("oci-filters-applied", "artifactType".parse().unwrap());
    }
    Ok(res)
}
