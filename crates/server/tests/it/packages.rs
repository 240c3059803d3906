//! The package API (Run 2.0 compatible) on the OCI store, with real components built from WIT.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use wharf_core::Digest;
use wharf_server::config::Secret;

use crate::{component, multipart, Resp, TestApp};

const TOKEN: &str = "acme-secret";
const OTHER: &str = "other-secret";

fn greeter(version_tag: &str) -> Vec<u8> {
    component(&format!(
        "package acme:greeter@{version_tag};
         interface clock {{ now: func() -> u64; }}
         interface greet {{ hello: func(name: string) -> string; }}
         world greeter {{ import clock; export greet; }}"
    ))
}

async fn registry() -> TestApp {
    TestApp::with(|c| {
        c.base_url = "http://registry.test:8080".into();
        c.auth.namespace_tokens = vec![
            Secret::new(format!("acme:{TOKEN}")),
            Secret::new(format!("other:{OTHER}")),
        ];
    })
    .await
}

async fn publish_with(
    app: &TestApp,
    token: Option<&str>,
    fields: &[(&str, &str)],
    artifact: Option<&[u8]>,
) -> Resp {
    let (ct, body) = multipart(fields, artifact.map(|a| ("component", "app.wasm", a)));
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", ct.as_str())];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    app.request_from(
        "192.0.2.1:1000",
        Method::POST,
        "/api/v1/packages",
        &headers,
        body,
    )
    .await
}

async fn publish(app: &TestApp, name: &str, version: &str, description: &str, wasm: &[u8]) -> Resp {
    let sha = Digest::sha256(wasm).hex().to_owned();
    publish_with(
        app,
        Some(TOKEN),
        &[
            ("name", name),
            ("version", version),
            ("description", description),
            ("license", "MIT"),
            ("repository", "https://example.com/acme/greeter"),
            (
                "dependencies",
                r#"[{"name":"wasi:io","version":"^0.2","optional":false}]"#,
            ),
            ("targets", r#"["wasm32-wasip2"]"#),
            ("sha256", &sha),
        ],
        Some(wasm),
    )
    .await
}

fn api_error(res: &Resp, status: u16, code: &str) {
    assert_eq!(
        res.status.as_u16(),
        status,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    assert_eq!(res.json()["error"]["code"], code);
    assert!(!res.json()["error"]["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn publish_then_read_every_endpoint() {
    let app = registry().await;
    let wasm = greeter("1.0.0");
    let res = publish(&app, "acme:greeter", "1.0.0", "Says hello", &wasm).await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    let sha = Digest::sha256(&wasm).hex().to_owned();
    let expected = json!({
        "name": "acme:greeter",
        "version": "1.0.0",
        "description": "Says hello",
        "license": "MIT",
        "size": wasm.len(),
        "sha256": sha,
        "download_url": "http://registry.test:8080/packages/acme%3Agreeter/1.0.0/artifact.wasm",
        "wit_url": null,
        "dependencies": [{"name": "wasi:io", "version": "^0.2", "optional": false}],
        "targets": ["wasm32-wasip2"],
        "repository": "https://example.com/acme/greeter",
        "imports": ["acme:greeter/clock@1.0.0"],
        "exports": ["acme:greeter/greet@1.0.0"],
        "yanked": false,
        "downloads": 0,
    });
    let mut got = res.json();
    assert!(got["published_at"].as_i64().unwrap() > 0);
    got.as_object_mut().unwrap().remove("published_at");
    assert_eq!(got, expected);

    assert_eq!(
        app.get("/packages").await.json(),
        json!({"packages": ["acme:greeter"]})
    );
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/versions")
            .await
            .json(),
        json!({"name": "acme:greeter", "versions": ["1.0.0"]})
    );
    let meta = app
        .get("/api/v1/packages/acme%3Agreeter/1.0.0")
        .await
        .json();
    assert_eq!(meta["sha256"], sha.as_str());
    let download = app
        .get("/packages/acme%3Agreeter/1.0.0/artifact.wasm")
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.header("content-type"), Some("application/wasm"));
    assert_eq!(&download.body[..], &wasm[..]);
    app.get("/packages/acme%3Agreeter/1.0.0/artifact.wasm")
        .await;
    let stats = app.get("/api/v1/stats").await.json();
    assert_eq!(
        stats,
        json!({"package_count": 1, "version_count": 1, "download_count": 2, "uptime_percent": 100.0})
    );
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/1.0.0")
            .await
            .json()["downloads"],
        2
    );
}

#[tokio::test]
async fn a_published_package_is_an_oci_artifact_in_the_cncf_layout() {
    let app = registry().await;
    let wasm = greeter("1.0.0");
    publish(&app, "acme:greeter", "1.0.0", "Says hello", &wasm).await;
    let manifest = app.get("/v2/acme/greeter/manifests/1.0.0").await;
    assert_eq!(manifest.status, StatusCode::OK);
    let m = manifest.json();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(m["layers"][0]["digest"], Digest::sha256(&wasm).to_string());
    assert_eq!(
        m["annotations"]["org.opencontainers.image.version"],
        "1.0.0"
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.description"],
        "Says hello"
    );
    assert_eq!(m["annotations"]["org.opencontainers.image.licenses"], "MIT");
    assert_eq!(
        m["annotations"]["org.opencontainers.image.source"],
        "https://example.com/acme/greeter"
    );
    let config = app
        .get(&format!(
            "/v2/acme/greeter/blobs/{}",
            m["config"]["digest"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(
        config["layerDigests"],
        json!([Digest::sha256(&wasm).to_string()])
    );
    assert_eq!(
        config["component"]["imports"],
        json!(["acme:greeter/clock@1.0.0"])
    );
    assert_eq!(
        config["component"]["exports"],
        json!(["acme:greeter/greet@1.0.0"])
    );
    let layer = app
        .get(&format!("/v2/acme/greeter/blobs/{}", Digest::sha256(&wasm)))
        .await;
    assert_eq!(&layer.body[..], &wasm[..]);
}

#[tokio::test]
async fn publish_errors_in_order() {
    let app = registry().await;
    let wasm = greeter("1.0.0");
    let fields = [("name", "acme:greeter"), ("version", "1.0.0")];
    // Credentials first: a malformed request without a valid token is 401, not 400.
    api_error(
        &publish_with(&app, None, &[("name", "Not Valid")], None).await,
        401,
        "unauthorized",
    );
    api_error(
        &publish_with(&app, Some("wrong"), &fields, Some(&wasm)).await,
        401,
        "unauthorized",
    );
    api_error(
        &publish_with(&app, Some(OTHER), &fields, Some(&wasm)).await,
        403,
        "forbidden",
    );
    api_error(
        &publish_with(
            &app,
            Some(TOKEN),
            &[("name", "acme:Greeter"), ("version", "1.0.0")],
            Some(&wasm),
        )
        .await,
        400,
        "invalid_request",
    );
    api_error(
        &publish_with(&app, Some(TOKEN), &[("version", "1.0.0")], Some(&wasm)).await,
        400,
        "invalid_request",
    );
    api_error(
        &publish_with(&app, Some(TOKEN), &[("name", "acme:greeter")], Some(&wasm)).await,
        400,
        "invalid_request",
    );
    api_error(
        &publish_with(&app, Some(TOKEN), &fields, None).await,
        400,
        "invalid_request",
    );
    for bad in ["latest", "1.0", "v1.0.0", "1.0.0+build"] {
        let res = publish_with(
            &app,
            Some(TOKEN),
            &[("name", "acme:greeter"), ("version", bad)],
            Some(&wasm),
        )
        .await;
        api_error(&res, 400, "invalid_request");
    }
    let res = publish_with(&app, Some(TOKEN), &fields, Some(b"definitely not wasm")).await;
    api_error(&res, 400, "invalid_request");
    assert!(res.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("WebAssembly"));
    let bad_sha = [
        ("name", "acme:greeter"),
        ("version", "1.0.0"),
        ("sha256", "00"),
    ];
    api_error(
        &publish_with(&app, Some(TOKEN), &bad_sha, Some(&wasm)).await,
        400,
        "invalid_request",
    );
    let bad_deps = [
        ("name", "acme:greeter"),
        ("version", "1.0.0"),
        ("dependencies", "{nope"),
    ];
    api_error(
        &publish_with(&app, Some(TOKEN), &bad_deps, Some(&wasm)).await,
        400,
        "invalid_request",
    );
    // None of that published anything.
    assert_eq!(app.get("/packages").await.json(), json!({"packages": []}));
    assert_eq!(
        publish_with(&app, Some(TOKEN), &fields, Some(&wasm))
            .await
            .status,
        StatusCode::CREATED
    );
    api_error(
        &publish_with(&app, Some(TOKEN), &fields, Some(&greeter("1.0.1"))).await,
        409,
        "conflict",
    );
    // The published bytes are unchanged.
    let download = app
        .get("/packages/acme%3Agreeter/1.0.0/artifact.wasm")
        .await;
    assert_eq!(&download.body[..], &wasm[..]);
}

#[tokio::test]
async fn oversized_publish_is_413() {
    let app = TestApp::with(|c| {
        c.limits.max_upload_bytes = 1024;
        c.auth.namespace_tokens = vec![Secret::new(format!("acme:{TOKEN}"))];
    })
    .await;
    let big = vec![0u8; 4096];
    let res = publish_with(
        &app,
        Some(TOKEN),
        &[("name", "acme:big"), ("version", "1.0.0")],
        Some(&big),
    )
    .await;
    api_error(&res, 413, "too_large");
}

#[tokio::test]
async fn versions_are_ordered_by_semver() {
    let app = registry().await;
    for v in ["1.10.0", "1.9.0", "1.2.0", "2.0.0-rc.1", "1.2.0-alpha"] {
        let res = publish(&app, "acme:greeter", v, "", &greeter("1.0.0")).await;
        assert!(matches!(res.status.as_u16(), 201 | 409), "{v}");
    }
    // Different versions of identical bytes are separate versions.
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/versions")
            .await
            .json()["versions"],
        json!(["1.2.0-alpha", "1.2.0", "1.9.0", "1.10.0", "2.0.0-rc.1"])
    );
    api_error(
        &app.get("/api/v1/packages/acme%3Anothing/versions").await,
        404,
        "not_found",
    );
    api_error(
        &app.get("/api/v1/packages/acme%3Agreeter/3.0.0").await,
        404,
        "not_found",
    );
    api_error(
        &app.get("/packages/acme%3Agreeter/3.0.0/artifact.wasm")
            .await,
        404,
        "not_found",
    );
    api_error(
        &app.get("/api/v1/packages/nonsense/versions").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn nested_names_arrive_percent_encoded() {
    let app =
        TestApp::with(|c| c.auth.namespace_tokens = vec![Secret::new(format!("run:{TOKEN}"))])
            .await;
    let wasm = greeter("1.0.0");
    let res = publish_with(
        &app,
        Some(TOKEN),
        &[("name", "run:calc/calculator"), ("version", "1.0.0")],
        Some(&wasm),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert!(res.json()["download_url"]
        .as_str()
        .unwrap()
        .ends_with("/packages/run%3Acalc%2Fcalculator/1.0.0/artifact.wasm"));
    assert_eq!(
        app.get("/api/v1/packages/run%3Acalc%2Fcalculator/versions")
            .await
            .json()["versions"],
        json!(["1.0.0"])
    );
    assert_eq!(
        app.get("/v2/run/calc/calculator/tags/list").await.json()["tags"],
        json!(["1.0.0"])
    );
}

async fn search(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/api/v1/search?{query}")).await.json()
}

fn names(v: &Value) -> Vec<String> {
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_matches_name_description_and_interfaces_ranked() {
    let app = registry().await;
    publish(
        &app,
        "acme:greeter",
        "1.0.0",
        "Says hello",
        &greeter("1.0.0"),
    )
    .await;
    publish(
        &app,
        "acme:greeter",
        "1.1.0",
        "Says hello louder",
        &greeter("1.0.0"),
    )
    .await;
    publish(
        &app,
        "acme:greeter-cli",
        "0.1.0",
        "A greeter for terminals",
        &greeter("1.0.0"),
    )
    .await;
    publish(
        &app,
        "acme:clock",
        "0.1.0",
        "Tells the time to greeters, 100% accurate",
        &component("package acme:time; world w { export now: func() -> u64; }"),
    )
    .await;
    publish(
        &app,
        "acme:unrelated",
        "0.1.0",
        "Nothing to see",
        &component("package acme:x; world w { export go: func(); }"),
    )
    .await;

    let r = search(&app, "q=greeter").await;
    assert_eq!(
        names(&r),
        ["acme:greeter", "acme:greeter-cli", "acme:clock"]
    );
    assert_eq!(r["total"], 3);
    // One entry per package: its newest version.
    assert_eq!(r["packages"][0]["version"], "1.1.0");
    // Interface names are searched too.
    assert_eq!(
        names(&search(&app, "q=greet%401.0.0").await),
        ["acme:greeter", "acme:greeter-cli"]
    );
    // Pagination is stable.
    assert_eq!(
        names(&search(&app, "q=greeter&limit=1&offset=1").await),
        ["acme:greeter-cli"]
    );
    assert_eq!(search(&app, "q=greeter&limit=1&offset=1").await["total"], 3);
    // LIKE wildcards are literal.
    assert_eq!(names(&search(&app, "q=100%25").await), ["acme:clock"]);
    assert!(names(&search(&app, "q=_").await).is_empty());
    assert_eq!(search(&app, "q=").await["total"], 4);
}

#[tokio::test]
async fn yanked_versions_are_hidden_but_downloadable() {
    let app = registry().await;
    let old = greeter("1.0.0");
    publish(&app, "acme:greeter", "1.0.0", "", &old).await;
    publish(&app, "acme:greeter", "1.1.0", "", &greeter("1.1.0")).await;
    let auth = format!("Bearer {TOKEN}");
    let other = format!("Bearer {OTHER}");
    let yank = |a: String, action: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                &format!("/api/v1/packages/acme%3Agreeter/1.1.0/{action}"),
                &[("authorization", &a)],
                Body::empty(),
            )
            .await
        }
    };
    api_error(&yank(other.clone(), "yank").await, 403, "forbidden");
    let res = yank(auth.clone(), "yank").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["yanked"], true);
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/versions")
            .await
            .json()["versions"],
        json!(["1.0.0"])
    );
    assert_eq!(
        search(&app, "q=greeter").await["packages"][0]["version"],
        "1.0.0"
    );
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/1.1.0")
            .await
            .json()["yanked"],
        true
    );
    assert_eq!(
        app.get("/packages/acme%3Agreeter/1.1.0/artifact.wasm")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(yank(auth.clone(), "unyank").await.json()["yanked"], false);
    assert_eq!(
        app.get("/api/v1/packages/acme%3Agreeter/versions")
            .await
            .json()["versions"],
        json!(["1.0.0", "1.1.0"])
    );
}

#[tokio::test]
async fn fifty_concurrent_publishes_of_one_version_yield_one_winner() {
    let app = std::sync::Arc::new(registry().await);
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            // Each publisher sends different bytes for the same version.
            let wasm = component(&format!(
                "package acme:race; world w {{ export task{i}: func(); }}"
            ));
            publish(&app, "acme:race", "1.0.0", "", &wasm)
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        49,
        "{statuses:?}"
    );
    let meta = app.get("/api/v1/packages/acme%3Arace/1.0.0").await.json();
    let download = app.get("/packages/acme%3Arace/1.0.0/artifact.wasm").await;
    assert_eq!(
        Digest::sha256(&download.body).hex(),
        meta["sha256"].as_str().unwrap()
    );
    let manifest = app.get("/v2/acme/race/manifests/1.0.0").await.json();
    assert_eq!(
        manifest["layers"][0]["digest"],
        format!("sha256:{}", meta["sha256"].as_str().unwrap())
    );
    assert_eq!(
        app.get("/v2/acme/race/tags/list").await.json()["tags"],
        json!(["1.0.0"])
    );
}

#[tokio::test]
async fn a_wasm_artifact_pushed_through_oci_appears_in_the_package_api() {
    let app = TestApp::new().await; // no tokens: loopback may write
    let wasm = greeter("2.0.0");
    let layer = app.push_blob("acme/pushed", &wasm).await;
    let config = serde_json::to_vec(&json!({
        "architecture": "wasm", "os": "wasip2", "layerDigests": [layer.to_string()],
        "component": {"imports": ["acme:greeter/clock@2.0.0"], "exports": ["acme:greeter/greet@2.0.0"]},
    }))
    .unwrap();
    let config_digest = app.push_blob("acme/pushed", &config).await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": crate::OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/wasm", "digest": layer.to_string(), "size": wasm.len()}],
        "annotations": {"org.opencontainers.image.description": "pushed by wkg"},
    })
    .to_string();
    app.push_manifest("acme/pushed", "2.0.0", crate::OCI_MANIFEST, &manifest)
        .await;
    app.push_manifest("acme/pushed", "latest", crate::OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(
        app.get("/api/v1/packages/acme%3Apushed/versions")
            .await
            .json()["versions"],
        json!(["2.0.0"])
    );
    let meta = app.get("/api/v1/packages/acme%3Apushed/2.0.0").await.json();
    assert_eq!(meta["sha256"], layer.hex());
    assert_eq!(meta["description"], "pushed by wkg");
    assert_eq!(meta["exports"], json!(["acme:greeter/greet@2.0.0"]));
    assert_eq!(
        &app.get("/packages/acme%3Apushed/2.0.0/artifact.wasm")
            .await
            .body[..],
        &wasm[..]
    );
    // Re-pushing the same manifest is fine; moving the published version is not.
    app.push_manifest("acme/pushed", "2.0.0", crate::OCI_MANIFEST, &manifest)
        .await;
    let moved = manifest.replace("pushed by wkg", "changed");
    let res = app
        .request(
            Method::PUT,
            "/v2/acme/pushed/manifests/2.0.0",
            &[("content-type", crate::OCI_MANIFEST)],
            moved,
        )
        .await;
    res.assert_error(409, "DENIED");
    // Non-Wasm images with semver tags are not packages.
    app.push_image("acme/image", "1.0.0", b"tarball", "").await;
    assert_eq!(
        app.get("/packages").await.json()["packages"],
        json!(["acme:pushed"])
    );
}

#[tokio::test]
async fn rate_limit_per_client_is_429_with_retry_after() {
    let app = TestApp::with(|c| c.limits.rate_limit_per_min = 3).await;
    let from = |peer: &'static str, uri: &'static str| {
        let app = &app;
        async move {
            app.request_from(peer, Method::GET, uri, &[], Body::empty())
                .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            from("192.0.2.1:1", "/api/v1/stats").await.status,
            StatusCode::OK
        );
    }
    let limited = from("192.0.2.1:2", "/registry/discover").await;
    api_error(&limited, 429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another client, and the OCI API, are unaffected.
    assert_eq!(
        from("192.0.2.2:1", "/api/v1/stats").await.status,
        StatusCode::OK
    );
    assert_eq!(from("192.0.2.1:3", "/v2/").await.status, StatusCode::OK);
}

/// Appends a custom section of `size` bytes: still a valid component, just bigger.
fn padded(mut wasm: Vec<u8>, size: usize) -> Vec<u8> {
    let name = b"padding";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.resize(size, 0x5a);
    wasm.push(0);
    let mut n = payload.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            wasm.push(byte);
            break;
        }
        wasm.push(byte | 0x80);
    }
    wasm.extend_from_slice(&payload);
    wasm
}

fn stored_blobs(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|e| e.unwrap())
                .map(|e| {
                    if e.file_type().unwrap().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    walk(&app.config.data_dir.join("blobs"))
}

#[tokio::test]
async fn multi_megabyte_artifacts_are_accepted_under_the_default_limit() {
    let app = registry().await;
    let big = padded(greeter("1.0.0"), 3 * 1024 * 1024);
    assert!(wharf_core::wasm::inspect(&big).is_ok());
    let res = publish(&app, "acme:big", "1.0.0", "three MiB", &big).await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    assert_eq!(
        app.get("/packages/acme%3Abig/1.0.0/artifact.wasm")
            .await
            .body
            .len(),
        big.len()
    );
    // The file registry too.
    let (ct, body) = multipart(&[], Some(("file", "big.wasm", &big)));
    let admin_app = TestApp::new().await;
    let pushed = admin_app
        .request(
            Method::POST,
            "/registry/push",
            &[("content-type", &ct)],
            body,
        )
        .await;
    assert_eq!(
        pushed.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&pushed.body)
    );
    assert_eq!(
        admin_app.get("/registry/pull/big.wasm").await.body.len(),
        big.len()
    );
}

#[tokio::test]
async fn refused_publishes_store_nothing_when_the_name_comes_first() {
    let app = registry().await;
    let before = stored_blobs(&app);
    let wasm = greeter("1.0.0");
    let fields = [("name", "acme:greeter"), ("version", "1.0.0")];
    api_error(
        &publish_with(&app, Some(OTHER), &fields, Some(&wasm)).await,
        403,
        "forbidden",
    );
    assert_eq!(stored_blobs(&app), before, "a 403 stores nothing");
    assert_eq!(
        publish_with(&app, Some(TOKEN), &fields, Some(&wasm))
            .await
            .status,
        StatusCode::CREATED
    );
    let after = stored_blobs(&app);
    api_error(
        &publish_with(&app, Some(TOKEN), &fields, Some(&greeter("9.9.9"))).await,
        409,
        "conflict",
    );
    assert_eq!(stored_blobs(&app), after, "a 409 stores nothing");
    let long = format!("1.0.0-{}", "a".repeat(130));
    let res = publish_with(
        &app,
        Some(TOKEN),
        &[("name", "acme:greeter"), ("version", &long)],
        Some(&wasm),
    )
    .await;
    api_error(&res, 400, "invalid_request");
    let two = {
        let (ct, mut body) = multipart(&fields, Some(("component", "a.wasm", &wasm)));
        let (_, second) = multipart(&[], Some(("artifact", "b.wasm", &wasm)));
        // Splice a second file part before the closing boundary.
        let end = body.len() - "--wharf-boundary-7d3f--\r\n".len();
        body.truncate(end);
        body.extend_from_slice(&second);
        (ct, body)
    };
    let res = app
        .request(
            Method::POST,
            "/api/v1/packages",
            &[
                ("content-type", &two.0),
                ("authorization", &format!("Bearer {TOKEN}")),
            ],
            two.1,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::CONFLICT,
        "name and version come first: the 409 wins"
    );
}

#[tokio::test]
async fn published_versions_cannot_be_deleted_through_oci() {
    let app = registry().await;
    publish(&app, "acme:greeter", "1.0.0", "", &greeter("1.0.0")).await;
    let auth = format!("Bearer {TOKEN}");
    let digest = app
        .get("/v2/acme/greeter/manifests/1.0.0")
        .await
        .header("docker-content-digest")
        .unwrap()
        .to_owned();
    for reference in ["1.0.0", digest.as_str()] {
        let res = app
            .request(
                Method::DELETE,
                &format!("/v2/acme/greeter/manifests/{reference}"),
                &[("authorization", &auth)],
                Body::empty(),
            )
            .await;
        res.assert_error(409, "DENIED");
    }
    assert_eq!(
        app.get("/v2/acme/greeter/manifests/1.0.0").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn oci_descriptors_must_state_the_real_size() {
    let app = TestApp::new().await;
    let wasm = greeter("1.0.0");
    let layer = app.push_blob("acme/sized", &wasm).await;
    let config = app.push_blob("acme/sized", b"{}").await;
    let manifest = |size: usize| {
        json!({
            "schemaVersion": 2, "mediaType": crate::OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config.to_string(), "size": 2},
            "layers": [{"mediaType": "application/wasm", "digest": layer.to_string(), "size": size}],
        })
        .to_string()
    };
    let res = app
        .request(
            Method::PUT,
            "/v2/acme/sized/manifests/1.0.0",
            &[("content-type", crate::OCI_MANIFEST)],
            manifest(1),
        )
        .await;
    res.assert_error(400, "MANIFEST_INVALID");
    assert_eq!(app.get("/packages").await.json()["packages"], json!([]));
    // Several semver tags at once: each becomes a version.
    let body = manifest(wasm.len());
    let digest = Digest::sha256(body.as_bytes());
    let res = app
        .request(
            Method::PUT,
            &format!("/v2/acme/sized/manifests/{digest}?tag=1.0.0&tag=1.0.1&tag=latest"),
            &[("content-type", crate::OCI_MANIFEST)],
            body,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        app.get("/api/v1/packages/acme%3Asized/versions")
            .await
            .json()["versions"],
        json!(["1.0.0", "1.0.1"])
    );
    assert_eq!(
        app.get("/v2/acme/sized/tags/list").await.json()["tags"],
        json!(["1.0.0", "1.0.1", "latest"])
    );
}

#[tokio::test]
async fn browsers_cannot_write_to_a_tokenless_local_registry() {
    let app = TestApp::new().await;
    let wasm = greeter("1.0.0");
    let (ct, body) = multipart(
        &[("name", "acme:csrf"), ("version", "1.0.0")],
        Some(("component", "a.wasm", &wasm)),
    );
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .request(
                Method::POST,
                "/api/v1/packages",
                &[("content-type", &ct), header],
                body.clone(),
            )
            .await;
        api_error(&res, 401, "unauthorized");
        let removed = app
            .request(
                Method::GET,
                "/registry/remove/x.wasm",
                &[header],
                Body::empty(),
            )
            .await;
        assert_eq!(removed.status, StatusCode::UNAUTHORIZED);
    }
    // A command-line client (no Origin, Sec-Fetch-Site: none or absent) still may.
    let res = app
        .request(
            Method::POST,
            "/api/v1/packages",
            &[("content-type", &ct), ("sec-fetch-site", "none")],
            body,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
}

#[tokio::test]
async fn yank_checks_credentials_before_the_name() {
    let app = registry().await;
    let res = app
        .request_from(
            "192.0.2.9:1",
            Method::POST,
            "/api/v1/packages/Not%20A%20Name/1.0.0/yank",
            &[],
            Body::empty(),
        )
        .await;
    api_error(&res, 401, "unauthorized");
}
