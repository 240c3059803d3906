//! Browse pages for people: `/` (what this registry is), `/browse` (packages, with search),
//! `/browse/{name}` (versions, WIT imports/exports, how to install). Server-rendered HTML; every
//! value from the database goes through [`esc`].

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use wharf_core::PackageName;

use crate::auth::{self, Access};
use crate::services::packages;
use crate::AppState;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/", get(home))
        .route("/browse", get(browse))
        .route("/browse/{name}", get(package))
}

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}\
a{color:#0b5cad}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd}\
code,pre{background:#f4f5f7;border-radius:4px;padding:.1rem .3rem}pre{padding:.6rem;overflow-x:auto}\
.muted{color:#667}.yanked{color:#a33}header a{margin-right:1rem}";

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{} · Wharf</title><style>{STYLE}</style></head><body><header><a href=\"/\"><b>Wharf</b></a><a href=\"/browse\">Packages</a></header>{body}</body></html>",
        esc(title)
    ))
    .into_response()
}

fn status_page(status: StatusCode, title: &str, message: &str) -> Response {
    let mut res = page(
        title,
        &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(message)),
    );
    *res.status_mut() = status;
    res
}

/// The `host[:port]` (and any path) clients use for this registry.
fn host(state: &AppState, headers: &HeaderMap) -> String {
    let base = state.public_base(headers);
    base.split_once("://")
        .map_or(base.clone(), |(_, rest)| rest.to_owned())
}

/// Checks read access; takes the request apart first so nothing borrowed from it is held across
/// the check.
async fn readable(state: &AppState, req: Request) -> Result<HeaderMap, Response> {
    let peer = auth::peer(&req);
    let headers = req.into_parts().0.headers;
    match state.authorize(&headers, peer, Access::Read).await {
        Ok(_) => Ok(headers),
        Err(_) => {
            let mut res = status_page(
                StatusCode::UNAUTHORIZED,
                "Sign in required",
                "This registry is private.",
            );
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"wharf\"".parse().unwrap(),
            );
            Err(res)
        }
    }
}

async fn home(State(state): State<AppState>, req: Request) -> Response {
    let host = esc(&host(&state, req.headers()));
    page(
        "Registry",
        &format!(
            "<h1>Wharf</h1><p>A registry for WebAssembly components and OCI artifacts.</p>\
             <ul><li><a href=\"/browse\">Browse packages</a></li>\
             <li>OCI Distribution API: <code>{host}/v2/</code> (docker, podman, skopeo, oras, wkg)</li>\
             <li>Package API: <code>/api/v1/packages</code>, <code>/api/v1/search?q=</code></li>\
             <li>Files: <code>/registry/discover</code></li></ul>"
        ),
    )
}

#[derive(Deserialize)]
struct BrowseParams {
    #[serde(default)]
    q: String,
}

async fn browse(
    State(state): State<AppState>,
    Query(params): Query<BrowseParams>,
    req: Request,
) -> Response {
    if let Err(denied) = readable(&state, req).await {
        return denied;
    }
    let q = params.q.trim().to_lowercase();
    let (found, stats) = match (
        state.meta.search_versions(&q).await,
        state.meta.package_stats().await,
    ) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "browse failed");
            return status_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "The package index could not be read.",
            );
        }
    };
    let mut rows = String::new();
    for (latest, downloads) in packages::newest_per_package(found) {
        rows.push_str(&format!(
            "<tr><td><a href=\"/browse/{}\">{}</a></td><td>{}</td><td>{}</td><td>{downloads}</td></tr>",
            esc(&latest.package.replace(':', "%3A").replace('/', "%2F")),
            esc(&latest.package),
            esc(&latest.version),
            esc(&latest.description),
        ));
    }
    let table = if rows.is_empty() {
        if q.is_empty() {
            "<p class=\"muted\">No packages published yet.</p>".to_owned()
        } else {
            format!("<p class=\"muted\">No package matches “{}”.</p>", esc(&q))
        }
    } else {
        format!("<table><thead><tr><th>Package</th><th>Latest</th><th>Description</th><th>Downloads</th></tr></thead><tbody>{rows}</tbody></table>")
    };
    page(
        "Packages",
        &format!(
            "<h1>Packages</h1><p class=\"muted\">{} packages · {} versions · {} downloads</p>\
             <form action=\"/browse\"><input name=\"q\" value=\"{}\" placeholder=\"Search names, descriptions, WIT interfaces\" size=\"40\"> <button>Search</button></form>{table}",
            stats.packages, stats.versions, stats.downloads, esc(&q)
        ),
    )
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "<p class=\"muted\">none</p>".to_owned();
    }
    let li: String = items
        .iter()
        .map(|i| format!("<li><code>{}</code></li>", esc(i)))
        .collect();
    format!("<ul>{li}</ul>")
}

async fn package(
    State(state): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let headers = match readable(&state, req).await {
        Ok(h) => h,
        Err(denied) => return denied,
    };
    let Ok(name) = PackageName::parse(&name) else {
        return status_page(StatusCode::NOT_FOUND, "Not found", "No such package.");
    };
    let mut versions = match state.meta.package_versions(&name.to_string()).await {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => {
            return status_page(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("No package named {name}."),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "browse failed");
            return status_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "The package index could not be read.",
            );
        }
    };
    packages::sort_versions(&mut versions);
    let shown = versions
        .iter()
        .rev()
        .find(|v| !v.yanked)
        .unwrap_or(&versions[versions.len() - 1])
        .clone();
    let host = host(&state, &headers);
    let mut rows = String::new();
    for v in versions.iter().rev() {
        let published = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.published_at.max(0) as u64),
        );
        rows.push_str(&format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}…</code></td></tr>",
            esc(&v.version),
            if v.yanked {
                " <span class=\"yanked\">yanked</span>"
            } else {
                ""
            },
            published,
            v.size,
            v.downloads,
            esc(&v.sha256[..v.sha256.len().min(12)]),
        ));
    }
    let repository = match &shown.repository {
        Some(r) if r.starts_with("https://") || r.starts_with("http://") => {
            format!(
                "<p>Source: <a href=\"{0}\" rel=\"nofollow\">{0}</a></p>",
                esc(r)
            )
        }
        Some(r) => format!("<p>Source: {}</p>", esc(r)),
        None => String::new(),
    };
    let license = shown
        .license
        .as_deref()
        .map(|l| format!("<p>License: {}</p>", esc(l)))
        .unwrap_or_default();
    let id = format!("{}@{}", name, shown.version);
    let body = format!(
        "<h1>{}</h1><p>{}</p>{license}{repository}\
         <h2>Install</h2><pre>wharf install {id}\nrun v2 install {id}\nwkg get {id} --registry {}\noras pull {}/{}:{}</pre>\
         <h2>WIT ({})</h2><h3>Imports</h3>{}<h3>Exports</h3>{}\
         <h2>Versions</h2><table><thead><tr><th>Version</th><th>Published</th><th>Size</th><th>Downloads</th><th>SHA-256</th></tr></thead><tbody>{rows}</tbody></table>",
        esc(&name.to_string()),
        esc(&shown.description),
        esc(&host),
        esc(&host),
        esc(name.repo().as_str()),
        esc(&shown.version),
        esc(&shown.version),
        list(&shown.imports),
        list(&shown.exports),
        id = esc(&id),
    );
    page(&name.to_string(), &body)
}
