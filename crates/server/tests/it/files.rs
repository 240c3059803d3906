//! The Simplism-compatible file registry: push, pull, discover (JSON and text), remove, its
//! token headers, limits, and the same file seen through the OCI API.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use wharf_server::config::Secret;

use crate::TestApp;

const BOUNDARY: &str = "wharf-test-boundary";

fn form(field: &str, filename: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn push(app: &TestApp, filename: &str, data: &[u8], extra: &[(&str, &str)]) -> crate::Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut headers = vec![("content-type", ct.as_str())];
    headers.extend_from_slice(extra);
    app.request(
        Method::POST,
        "/registry/push",
        &headers,
        form("file", filename, data),
    )
    .await
}

fn text(res: &crate::Resp) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

const WASM: &[u8] = b"\0asm\x01\0\0\0";

#[tokio::test]
async fn push_pull_discover_remove() {
    let app = TestApp::new().await;
    let res = push(&app, "hello.wasm", WASM, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", text(&res));
    assert_eq!(text(&res), "🎉 hello.wasm successfully uploaded!\n");

    let pulled = app.get("/registry/pull/hello.wasm").await;
    assert_eq!(pulled.status, StatusCode::OK);
    assert_eq!(&pulled.body[..], WASM);
    assert_eq!(
        pulled.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        pulled.header("content-disposition"),
        Some("attachment; filename=\"hello.wasm\"")
    );
    assert_eq!(pulled.header("content-length"), Some("8"));

    push(&app, "a.0.0.1.wasm", b"\0asm\x01\0\0\0\0", &[]).await;
    let listed = app.get("/registry/discover").await;
    assert_eq!(listed.status, StatusCode::OK);
    let files = listed.json();
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "a.0.0.1.wasm");
    assert_eq!(files[1]["name"], "hello.wasm");
    assert_eq!(files[1]["path"], "files/hello.wasm");
    assert_eq!(files[1]["size"], 8);
    assert!(files[1]["created"].as_str().unwrap().ends_with('Z'));
    let json_asked = app
        .request(
            Method::GET,
            "/registry/discover",
            &[("content-type", "application/json")],
            Body::empty(),
        )
        .await;
    assert_eq!(json_asked.json(), listed.json());

    for header in ["content-type", "accept"] {
        let table = app
            .request(
                Method::GET,
                "/registry/discover",
                &[(header, "text/plain")],
                Body::empty(),
            )
            .await;
        let t = text(&table);
        assert!(t.starts_with("+--"), "{t}");
        assert!(
            t.contains("| NAME ") && t.contains("| hello.wasm ") && t.contains("files/hello.wasm"),
            "{t}"
        );
    }

    let removed = app.delete("/registry/remove/hello.wasm").await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(text(&removed), "🙂 hello.wasm removed\n");
    assert_eq!(
        app.get("/registry/pull/hello.wasm").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete("/registry/remove/hello.wasm").await.status,
        StatusCode::NOT_FOUND
    );
    // Simplism's docs remove with a plain GET.
    assert_eq!(
        app.get("/registry/remove/a.0.0.1.wasm").await.status,
        StatusCode::OK
    );
    let empty = app.get("/registry/discover").await;
    assert_eq!(&empty.body[..], b"[]");
}

#[tokio::test]
async fn files_are_oci_artifacts() {
    let app = TestApp::new().await;
    push(&app, "tool.wasm", WASM, &[]).await;
    let manifest = app.get("/v2/files/manifests/tool.wasm").await;
    assert_eq!(manifest.status, StatusCode::OK);
    let m = manifest.json();
    assert_eq!(m["artifactType"], "application/vnd.wharf.file.v1");
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(
        m["layers"][0]["annotations"]["org.opencontainers.image.title"],
        "tool.wasm"
    );
    let digest = m["layers"][0]["digest"].as_str().unwrap();
    assert_eq!(digest, wharf_core::Digest::sha256(WASM).to_string());
    assert_eq!(
        &app.get(&format!("/v2/files/blobs/{digest}")).await.body[..],
        WASM
    );
    // Re-pushing a name replaces the file.
    push(&app, "tool.wasm", b"\0asm\x01\0\0\0v2", &[]).await;
    assert_eq!(
        &app.get("/registry/pull/tool.wasm").await.body[..],
        b"\0asm\x01\0\0\0v2"
    );
}

#[tokio::test]
async fn wrong_method_missing_field_and_bad_names() {
    let app = TestApp::new().await;
    for (method, uri) in [
        (Method::GET, "/registry/push"),
        (Method::POST, "/registry/discover"),
        (Method::POST, "/registry/pull/x.wasm"),
        (Method::PUT, "/registry/remove/x.wasm"),
    ] {
        let res = app.request(method.clone(), uri, &[], Body::empty()).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
    }
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let wrong_field = app
        .request(
            Method::POST,
            "/registry/push",
            &[("content-type", &ct)],
            form("upload", "x.wasm", WASM),
        )
        .await;
    assert_eq!(wrong_field.status, StatusCode::BAD_REQUEST);
    let not_multipart = app
        .request(
            Method::POST,
            "/registry/push",
            &[("content-type", "text/plain")],
            "x",
        )
        .await;
    assert_eq!(not_multipart.status, StatusCode::BAD_REQUEST);
    for bad in ["../etc.wasm", ".hidden", "a b.wasm"] {
        let res = push(&app, bad, WASM, &[]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        app.get("/registry/pull/missing.wasm").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/registry/pull/..%2F..%2Fwharf.db").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/registry/discover").await.body, "[]".as_bytes());
}

#[tokio::test]
async fn oversized_file_is_413_and_not_stored() {
    let app = TestApp::with(|c| c.limits.max_upload_bytes = 1000).await;
    let big = vec![7u8; 5000];
    let res = push(&app, "big.wasm", &big, &[]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", text(&res));
    assert_eq!(
        app.get("/registry/pull/big.wasm").await.status,
        StatusCode::NOT_FOUND
    );
    let ok = push(&app, "small.wasm", &big[..900], &[]).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn simplism_token_headers() {
    let app = TestApp::with(|c| {
        c.auth.admin_tokens = vec![Secret::new("morrison-hotel")];
        c.auth.pull_tokens = vec![Secret::new("people-are-strange")];
    })
    .await;
    let admin = [("admin-registry-token", "morrison-hotel")];
    let private = [("private-registry-token", "people-are-strange")];
    assert_eq!(
        push(&app, "x.wasm", WASM, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(&app, "x.wasm", WASM, &[("admin-registry-token", "nope")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push(&app, "x.wasm", WASM, &private).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        push(&app, "x.wasm", WASM, &admin).await.status,
        StatusCode::OK
    );

    let get = |uri: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move {
            app.request(Method::GET, uri, headers, Body::empty())
                .await
                .status
        }
    };
    assert_eq!(
        get("/registry/pull/x.wasm", &[]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("/registry/discover", &[]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(
            "/registry/pull/x.wasm",
            &[("private-registry-token", "people-are-strange")]
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        get(
            "/registry/discover",
            &[("private-registry-token", "people-are-strange")]
        )
        .await,
        StatusCode::OK
    );
    let remove = |headers: &'static [(&'static str, &'static str)]| {
        let app = &app;
        async move {
            app.request(
                Method::DELETE,
                "/registry/remove/x.wasm",
                headers,
                Body::empty(),
            )
            .await
            .status
        }
    };
    assert_eq!(remove(&[]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        remove(&[("private-registry-token", "people-are-strange")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        remove(&[("admin-registry-token", "morrison-hotel")]).await,
        StatusCode::OK
    );
}
