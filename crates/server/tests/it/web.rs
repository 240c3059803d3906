//! Browse pages: package list, search, package page with WIT and install instructions, escaping.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use wharf_server::config::Secret;

use crate::{component, multipart, TestApp};

async fn publish(app: &TestApp, name: &str, version: &str, description: &str, repository: &str) {
    let wasm = component(
        "package acme:web@1.0.0; interface api { call: func(); } world w { import api; export api; }",
    );
    let (ct, body) = multipart(
        &[
            ("name", name),
            ("version", version),
            ("description", description),
            ("repository", repository),
        ],
        Some(("component", "c.wasm", &wasm)),
    );
    let res = app
        .request(
            Method::POST,
            "/api/v1/packages",
            &[("content-type", &ct)],
            body,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
}

fn html(res: &crate::Resp) -> String {
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    String::from_utf8_lossy(&res.body).into_owned()
}

#[tokio::test]
async fn browse_lists_and_searches_packages() {
    let app = TestApp::new().await;
    assert!(html(&app.get("/browse").await).contains("No packages published yet"));
    publish(
        &app,
        "acme:web",
        "1.0.0",
        "Serves pages",
        "https://example.com/web",
    )
    .await;
    publish(
        &app,
        "acme:web",
        "1.1.0",
        "Serves pages faster",
        "https://example.com/web",
    )
    .await;
    publish(&app, "acme:other", "0.1.0", "Something else", "").await;
    let page = html(&app.get("/browse").await);
    assert!(page.contains("2 packages · 3 versions"), "{page}");
    assert!(page.contains("href=\"/browse/acme%3Aweb\""));
    assert!(page.contains("<td>1.1.0</td>"));
    let searched = html(&app.get("/browse?q=faster").await);
    assert!(searched.contains("acme:web") && !searched.contains("acme:other"));
    assert!(html(&app.get("/browse?q=zzz").await).contains("No package matches"));
    assert!(html(&app.get("/").await).contains("Browse packages"));
}

#[tokio::test]
async fn package_page_shows_versions_wit_and_install() {
    let app = TestApp::with(|c| c.base_url = "https://reg.example".into()).await;
    publish(
        &app,
        "acme:web",
        "1.0.0",
        "Serves pages",
        "https://example.com/web",
    )
    .await;
    publish(
        &app,
        "acme:web",
        "1.1.0",
        "Serves pages faster",
        "https://example.com/web",
    )
    .await;
    let res = app.get("/browse/acme%3Aweb").await;
    assert_eq!(res.status, StatusCode::OK);
    let page = html(&res);
    for needle in [
        "<h1>acme:web</h1>",
        "Serves pages faster",
        "wharf install acme:web@1.1.0",
        "run v2 install acme:web@1.1.0",
        "wkg get acme:web@1.1.0 --registry reg.example",
        "oras pull reg.example/acme/web:1.1.0",
        "<code>acme:web/api@1.0.0</code>",
        "<td>1.0.0</td>",
        "href=\"https://example.com/web\"",
    ] {
        assert!(page.contains(needle), "missing {needle:?} in {page}");
    }
    assert_eq!(
        app.get("/browse/acme%3Anope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/browse/not-a-name").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn descriptions_and_links_are_escaped() {
    let app = TestApp::new().await;
    publish(
        &app,
        "acme:xss",
        "1.0.0",
        "<script>alert('x')</script>",
        "javascript:alert(1)",
    )
    .await;
    for uri in ["/browse", "/browse/acme%3Axss"] {
        let page = html(&app.get(uri).await);
        assert!(!page.contains("<script>"), "{uri}: {page}");
        assert!(
            page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            "{uri}"
        );
        assert!(!page.contains("href=\"javascript:"), "{uri}");
    }
    let search = html(&app.get("/browse?q=%3Cb%3E").await);
    assert!(
        search.contains("&lt;b&gt;") && !search.contains("<b>&"),
        "{search}"
    );
}

#[tokio::test]
async fn private_registry_pages_need_a_token() {
    let app = TestApp::with(|c| c.auth.pull_tokens = vec![Secret::new("reader")]).await;
    let res = app
        .request_from("192.0.2.1:1", Method::GET, "/browse", &[], Body::empty())
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let ok = app
        .request_from(
            "192.0.2.1:1",
            Method::GET,
            "/browse",
            &[("authorization", "Bearer reader")],
            Body::empty(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}
