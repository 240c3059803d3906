//! wasm-pkg discovery: `/.well-known/wasm-pkg/registry.json` tells wkg that packages live in this
//! registry's OCI API (`ns:name@1.2.3` → repository `ns/name`, tag `1.2.3`).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/.well-known/wasm-pkg/registry.json", get(registry_json))
}

/// The `host[:port]` of the OCI API: from the configured base URL, else the request's Host.
fn oci_host(base_url: &str, headers: &HeaderMap) -> Option<String> {
    let from_base = base_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(base_url)
        .split('/')
        .next()
        .filter(|h| !h.is_empty());
    match from_base {
        Some(h) => Some(h.to_owned()),
        None => headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

async fn registry_json(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let mut oci = json!({ "namespacePrefix": "" });
    if let Some(host) = oci_host(&state.config.base_url, &headers) {
        oci["registry"] = json!(host);
    }
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "preferredProtocol": "oci", "oci": oci })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_comes_from_base_url_then_request() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "req.example:5000".parse().unwrap());
        assert_eq!(
            oci_host("https://reg.example/", &h).as_deref(),
            Some("reg.example")
        );
        assert_eq!(
            oci_host("http://127.0.0.1:8080", &h).as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(oci_host("", &h).as_deref(), Some("req.example:5000"));
        assert_eq!(oci_host("", &HeaderMap::new()), None);
    }
}
