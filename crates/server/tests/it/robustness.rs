//! Bad input of every kind gets a clear error in the OCI format: never a panic, never a 5xx.

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::TestApp;

#[tokio::test]
async fn base_endpoint() {
    let app = TestApp::new().await;
    let res = app.get("/v2/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), serde_json::json!({}));
    assert_eq!(
        res.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(app.head("/v2/").await.status, StatusCode::OK);
    assert_eq!(app.get("/v2").await.status, StatusCode::OK);
}

#[tokio::test]
async fn health_answers_ok() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/health").await.json(),
        serde_json::json!({"status": "ok"})
    );
    assert_eq!(app.get("/ready").await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_methods_are_405_unsupported() {
    let app = TestApp::new().await;
    for (method, uri) in [
        (Method::POST, "/v2/r/manifests/x"),
        (Method::PATCH, "/v2/r/tags/list"),
        (Method::PUT, "/v2/r/blobs/sha256:aa"),
        (Method::DELETE, "/v2/_catalog"),
        (Method::GET, "/v2/r/blobs/uploads/"),
        (Method::POST, "/v2/"),
    ] {
        let res = app.request(method.clone(), uri, &[], Body::empty()).await;
        res.assert_error(405, "UNSUPPORTED");
    }
}

#[tokio::test]
async fn unknown_endpoints_are_404() {
    let app = TestApp::new().await;
    app.get("/v2/r/unknown/x")
        .await
        .assert_error(404, "NAME_UNKNOWN");
    app.get("/v2/r").await.assert_error(404, "NAME_UNKNOWN");
}

#[tokio::test]
async fn malformed_input_never_causes_a_server_error() {
    let app = TestApp::new().await;
    let long = "a".repeat(300);
    let paths = [
        "/v2/../etc/passwd/manifests/x".to_owned(),
        "/v2/a/../../manifests/x".to_owned(),
        "/v2/a%2F..%2Fb/manifests/x".to_owned(),
        "/v2/UPPER/manifests/x".to_owned(),
        format!("/v2/{long}/manifests/x"),
        "/v2/a/manifests/sha256:..%2F..%2F".to_owned(),
        "/v2/a/blobs/sha256:../../../etc".to_owned(),
        "/v2/a/blobs/uploads/../../x".to_owned(),
        "/v2/a/referrers/nope".to_owned(),
        "/v2/a/tags/list?n=99999999999999999999".to_owned(),
        "/v2/_catalog?n=x".to_owned(),
        "/v2/a//b/tags/list".to_owned(),
        format!("/v2/a/manifests/{}", "t".repeat(200)),
    ];
    let bodies: [&[u8]; 4] = [b"", b"{", b"\xff\xfe\x00", b"{\"schemaVersion\":2}"];
    for path in &paths {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::PATCH,
            Method::POST,
            Method::DELETE,
        ] {
            for body in bodies {
                let res = app
                    .request(
                        method.clone(),
                        path,
                        &[("content-range", "x-y"), ("content-type", "text/plain")],
                        body.to_vec(),
                    )
                    .await;
                assert!(
                    res.status.is_client_error(),
                    "{method} {path} answered {}: {}",
                    res.status,
                    String::from_utf8_lossy(&res.body)
                );
                if method != Method::HEAD {
                    assert!(!res.code().is_empty());
                }
            }
        }
    }
}

#[tokio::test]
async fn wasm_pkg_discovery_points_wkg_at_the_oci_api() {
    let app = TestApp::with(|c| c.base_url = "http://127.0.0.1:5000".into()).await;
    let res = app.get("/.well-known/wasm-pkg/registry.json").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.json(),
        serde_json::json!({
            "preferredProtocol": "oci",
            "oci": {"registry": "127.0.0.1:5000", "namespacePrefix": ""}
        })
    );
}
