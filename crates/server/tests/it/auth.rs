//! Tokens and scopes on the OCI surface: every kind of credential against every read and write
//! endpoint, the Docker token flow, and the loopback-only default.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use wharf_core::auth::Scope;
use wharf_server::config::Secret;

use crate::{image_manifest, TestApp, OCI_MANIFEST};

const ADMIN: &str = "admin-secret";
const PUSH_NS: &str = "ns-secret";
const PUSH_OTHER: &str = "other-secret";
const REMOTE: &str = "192.0.2.7:5555";

/// Registry with configured admin and namespace tokens and a stored pull token.
async fn registry(private: bool) -> (TestApp, String) {
    let app = TestApp::with(|c| {
        c.auth.admin_tokens = vec![Secret::new(ADMIN)];
        c.auth.namespace_tokens = vec![
            Secret::new(format!("ns:{PUSH_NS}")),
            Secret::new(format!("other:{PUSH_OTHER}")),
        ];
        c.auth.private = private;
    })
    .await;
    let pull = app.create_token("reader", vec![Scope::Pull]).await;
    (app, pull)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The credentials of the matrix: (label, Authorization header).
fn credentials(pull: &str) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("none", None),
        ("wrong", Some(bearer("not-a-token"))),
        ("pull", Some(bearer(pull))),
        ("push:other", Some(bearer(PUSH_OTHER))),
        ("push:ns", Some(bearer(PUSH_NS))),
        ("admin", Some(bearer(ADMIN))),
    ]
}

async fn call(
    app: &TestApp,
    method: Method,
    uri: &str,
    auth: &Option<String>,
    body: &str,
) -> crate::Resp {
    let mut headers = vec![("content-type", OCI_MANIFEST)];
    if let Some(a) = auth {
        headers.push(("authorization", a.as_str()));
    }
    app.request_from(REMOTE, method, uri, &headers, body.to_owned())
        .await
}

/// Pushes `ns/app:v1` with the admin token; returns (manifest body, layer digest).
async fn seed(app: &TestApp) -> (String, String) {
    let admin = bearer(ADMIN);
    let auth = [("authorization", admin.as_str())];
    let mut digests = Vec::new();
    for data in [&b"{}"[..], b"layer"] {
        let d = wharf_core::Digest::sha256(data);
        let res = app
            .request_from(
                REMOTE,
                Method::POST,
                &format!("/v2/ns/app/blobs/uploads/?digest={d}"),
                &auth,
                data.to_vec(),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED);
        digests.push(d);
    }
    let body = image_manifest(&digests[0], 2, &digests[1], 5, "");
    let res = app
        .request_from(
            REMOTE,
            Method::PUT,
            "/v2/ns/app/manifests/v1",
            &[
                ("authorization", admin.as_str()),
                ("content-type", OCI_MANIFEST),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    (body, digests[1].to_string())
}

#[tokio::test]
async fn read_matrix_public_and_private() {
    for private in [false, true] {
        let (app, pull) = registry(private).await;
        let (_, layer) = seed(&app).await;
        let reads = [
            "/v2/ns/app/manifests/v1".to_owned(),
            format!("/v2/ns/app/blobs/{layer}"),
            "/v2/ns/app/tags/list".to_owned(),
            format!("/v2/ns/app/referrers/{layer}"),
            "/v2/_catalog".to_owned(),
            "/v2/tags/list".to_owned(),
        ];
        for (who, auth) in credentials(&pull) {
            for uri in &reads {
                for method in [Method::GET, Method::HEAD] {
                    let res = call(&app, method.clone(), uri, &auth, "").await;
                    let expect = match who {
                        "wrong" => StatusCode::UNAUTHORIZED,
                        "none" if private => StatusCode::UNAUTHORIZED,
                        _ if method == Method::HEAD
                            && !uri.contains("/manifests/")
                            && !uri.contains("/blobs/") =>
                        {
                            StatusCode::METHOD_NOT_ALLOWED
                        }
                        _ => StatusCode::OK,
                    };
                    assert_eq!(res.status, expect, "private={private} {who} {method} {uri}");
                    if res.status == StatusCode::UNAUTHORIZED {
                        assert!(res
                            .header("www-authenticate")
                            .unwrap()
                            .starts_with("Bearer realm="));
                        if method != Method::HEAD {
                            assert_eq!(res.code(), "UNAUTHORIZED");
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn write_matrix() {
    let (app, pull) = registry(false).await;
    for (who, auth) in credentials(&pull) {
        let (body, layer) = seed(&app).await;
        let allowed = matches!(who, "push:ns" | "admin");
        let denied = match who {
            "none" | "wrong" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        };
        let writes: Vec<(Method, String, &str, StatusCode)> = vec![
            (
                Method::POST,
                "/v2/ns/app/blobs/uploads/".into(),
                "",
                StatusCode::ACCEPTED,
            ),
            (
                Method::PUT,
                "/v2/ns/app/manifests/v2".into(),
                body.as_str(),
                StatusCode::CREATED,
            ),
            (
                Method::DELETE,
                "/v2/ns/app/manifests/v1".into(),
                "",
                StatusCode::ACCEPTED,
            ),
            (
                Method::DELETE,
                format!("/v2/ns/app/blobs/{layer}"),
                "",
                StatusCode::ACCEPTED,
            ),
        ];
        for (method, uri, body, ok) in writes {
            let res = call(&app, method.clone(), &uri, &auth, body).await;
            let expect = if allowed { ok } else { denied };
            assert_eq!(
                res.status,
                expect,
                "{who} {method} {uri}: {}",
                String::from_utf8_lossy(&res.body)
            );
            if !allowed {
                assert_eq!(
                    res.code(),
                    if denied == StatusCode::FORBIDDEN {
                        "DENIED"
                    } else {
                        "UNAUTHORIZED"
                    }
                );
            }
        }
        if !allowed {
            // Nothing changed.
            let admin = Some(bearer(ADMIN));
            assert_eq!(
                call(&app, Method::GET, "/v2/ns/app/manifests/v1", &admin, "")
                    .await
                    .status,
                StatusCode::OK
            );
            assert_eq!(
                call(
                    &app,
                    Method::GET,
                    &format!("/v2/ns/app/blobs/{layer}"),
                    &admin,
                    ""
                )
                .await
                .status,
                StatusCode::OK
            );
            assert_eq!(
                call(&app, Method::GET, "/v2/ns/app/manifests/v2", &admin, "")
                    .await
                    .status,
                StatusCode::NOT_FOUND
            );
        } else {
            // Put the tag back for the next credential's seed check.
            let admin = Some(bearer(ADMIN));
            call(&app, Method::DELETE, "/v2/ns/app/manifests/v2", &admin, "").await;
        }
    }
}

#[tokio::test]
async fn an_upload_session_needs_write_access_at_every_step() {
    let (app, pull) = registry(false).await;
    let admin = Some(bearer(ADMIN));
    let start = call(&app, Method::POST, "/v2/ns/app/blobs/uploads/", &admin, "").await;
    let location = start.header("location").unwrap().to_owned();
    for (who, auth) in credentials(&pull) {
        if matches!(who, "push:ns" | "admin") {
            continue;
        }
        for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
            let res = call(&app, method.clone(), &location, &auth, "data").await;
            assert!(
                matches!(res.status.as_u16(), 401 | 403),
                "{who} {method}: {}",
                res.status
            );
        }
    }
    let status = call(&app, Method::GET, &location, &admin, "").await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(
        status.header("range"),
        None,
        "no foreign write reached the session"
    );
}

#[tokio::test]
async fn without_any_token_only_loopback_may_write() {
    let app = TestApp::new().await;
    let remote = app
        .request_from(
            REMOTE,
            Method::POST,
            "/v2/a/blobs/uploads/",
            &[],
            Body::empty(),
        )
        .await;
    remote.assert_error(401, "UNAUTHORIZED");
    let local = app
        .request(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty())
        .await;
    assert_eq!(local.status, StatusCode::ACCEPTED);
    let v6 = app
        .request_from(
            "[::1]:9",
            Method::POST,
            "/v2/a/blobs/uploads/",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(v6.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.request_from(REMOTE, Method::GET, "/v2/", &[], Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    // Once a token exists, loopback is no longer trusted.
    let admin = app.create_token("ops", vec![Scope::Admin]).await;
    app.request(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty())
        .await
        .assert_error(401, "UNAUTHORIZED");
    let auth = bearer(&admin);
    let ok = app
        .request(
            Method::POST,
            "/v2/a/blobs/uploads/",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn docker_token_flow_and_basic_auth() {
    let (app, _) = registry(false).await;
    let ping = app
        .request_from(
            REMOTE,
            Method::GET,
            "/v2/",
            &[("host", "reg.test:5000")],
            Body::empty(),
        )
        .await;
    ping.assert_error(401, "UNAUTHORIZED");
    assert_eq!(
        ping.header("www-authenticate"),
        Some("Bearer realm=\"http://reg.test:5000/auth/token\",service=\"wharf\"")
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("any:{PUSH_NS}"))
    );
    let token = app
        .request_from(
            REMOTE,
            Method::GET,
            "/auth/token?service=wharf&scope=repository:ns/app:pull,push",
            &[("authorization", &basic)],
            Body::empty(),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK);
    let issued = token.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(token.json()["access_token"], issued.as_str());
    let pushed = app
        .request_from(
            REMOTE,
            Method::POST,
            "/v2/ns/app/blobs/uploads/",
            &[("authorization", &bearer(&issued))],
            Body::empty(),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::ACCEPTED);
    // Basic straight away works too.
    let direct = app
        .request_from(
            REMOTE,
            Method::POST,
            "/v2/ns/app/blobs/uploads/",
            &[("authorization", &basic)],
            Body::empty(),
        )
        .await;
    assert_eq!(direct.status, StatusCode::ACCEPTED);
    // Anonymous clients get a token that reads.
    let anon = app
        .request_from(
            REMOTE,
            Method::GET,
            "/auth/token?service=wharf",
            &[],
            Body::empty(),
        )
        .await;
    let anon = anon.json()["token"].as_str().unwrap().to_owned();
    let ping = app
        .request_from(
            REMOTE,
            Method::GET,
            "/v2/",
            &[("authorization", &bearer(&anon))],
            Body::empty(),
        )
        .await;
    assert_eq!(ping.status, StatusCode::OK);
    let write = app
        .request_from(
            REMOTE,
            Method::POST,
            "/v2/ns/app/blobs/uploads/",
            &[("authorization", &bearer(&anon))],
            Body::empty(),
        )
        .await;
    write.assert_error(401, "UNAUTHORIZED");
    // Wrong credentials at the token endpoint: 401. The OAuth2 form works.
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:nope")
    );
    let res = app
        .request_from(
            REMOTE,
            Method::GET,
            "/auth/token",
            &[("authorization", &bad)],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let form = app
        .request_from(
            REMOTE,
            Method::POST,
            "/auth/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("grant_type=password&username=u&password={ADMIN}&service=wharf"),
        )
        .await;
    assert_eq!(form.json()["token"], ADMIN);
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let app = TestApp::new().await;
    let token = app.create_token("ci", vec![Scope::Push("ns".into())]).await;
    let auth = bearer(&token);
    let ok = app
        .request_from(
            REMOTE,
            Method::POST,
            "/v2/ns/x/blobs/uploads/",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
    let id = app.state.meta.list_tokens().await.unwrap()[0].id.clone();
    assert!(app.state.meta.revoke_token(&id).await.unwrap());
    app.request_from(
        REMOTE,
        Method::POST,
        "/v2/ns/x/blobs/uploads/",
        &[("authorization", &auth)],
        Body::empty(),
    )
    .await
    .assert_error(401, "UNAUTHORIZED");
}

/// The package API, the file registry and the browse pages, against every credential.
#[tokio::test]
async fn package_file_and_web_surfaces_matrix() {
    for private in [false, true] {
        let (app, pull) = registry(private).await;
        let wasm = crate::component("package ns:app; world w { export run: func(); }");
        // Seed one package and one file with the admin token.
        let admin = Some(bearer(ADMIN));
        let (ct, body) = crate::multipart(
            &[("name", "ns:app"), ("version", "1.0.0")],
            Some(("component", "a.wasm", &wasm)),
        );
        let res = app
            .request_from(
                REMOTE,
                Method::POST,
                "/api/v1/packages",
                &[
                    ("content-type", &ct),
                    ("authorization", admin.as_deref().unwrap()),
                ],
                body,
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED);
        let (fct, fbody) = crate::multipart(&[], Some(("file", "seed.wasm", &wasm)));
        let res = app
            .request_from(
                REMOTE,
                Method::POST,
                "/registry/push",
                &[
                    ("content-type", &fct),
                    ("authorization", admin.as_deref().unwrap()),
                ],
                fbody,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK);

        let reads = [
            "/packages",
            "/api/v1/packages/ns%3Aapp/versions",
            "/api/v1/packages/ns%3Aapp/1.0.0",
            "/packages/ns%3Aapp/1.0.0/artifact.wasm",
            "/api/v1/search?q=app",
            "/api/v1/stats",
            "/registry/discover",
            "/registry/pull/seed.wasm",
            "/browse",
            "/browse/ns%3Aapp",
        ];
        for (n, (who, auth)) in credentials(&pull).into_iter().enumerate() {
            for uri in reads {
                let res = call(&app, Method::GET, uri, &auth, "").await;
                let expect = match who {
                    "wrong" => 401,
                    "none" if private => 401,
                    _ => 200,
                };
                assert_eq!(
                    res.status.as_u16(),
                    expect,
                    "private={private} {who} GET {uri}"
                );
            }

            // Writes: publish a new version, yank it, push and remove a file.
            let version = format!("2.0.{n}");
            let (ct, body) = crate::multipart(
                &[("name", "ns:app"), ("version", &version)],
                Some(("component", "a.wasm", &wasm)),
            );
            let mut headers = vec![("content-type", ct.as_str())];
            if let Some(a) = &auth {
                headers.push(("authorization", a.as_str()));
            }
            let published = app
                .request_from(REMOTE, Method::POST, "/api/v1/packages", &headers, body)
                .await;
            let yank = call(
                &app,
                Method::POST,
                "/api/v1/packages/ns%3Aapp/1.0.0/yank",
                &auth,
                "",
            )
            .await;
            let unyank = call(
                &app,
                Method::POST,
                "/api/v1/packages/ns%3Aapp/1.0.0/unyank",
                &auth,
                "",
            )
            .await;
            let (fct, fbody) = crate::multipart(&[], Some(("file", "mine.wasm", &wasm)));
            let mut fheaders = vec![("content-type", fct.as_str())];
            if let Some(a) = &auth {
                fheaders.push(("authorization", a.as_str()));
            }
            let file_push = app
                .request_from(REMOTE, Method::POST, "/registry/push", &fheaders, fbody)
                .await;
            let file_remove = call(
                &app,
                Method::DELETE,
                "/registry/remove/seed.wasm",
                &auth,
                "",
            )
            .await;
            let (pkg_ok, file_ok) = match who {
                "none" | "wrong" => (401, 401),
                "pull" | "push:other" => (403, 403),
                "push:ns" => (0, 403),
                _ => (0, 0),
            };
            let expect = |ok: u16, allowed: u16| if ok == 0 { allowed } else { ok };
            assert_eq!(
                published.status.as_u16(),
                expect(pkg_ok, 201),
                "{who} publish: {}",
                String::from_utf8_lossy(&published.body)
            );
            assert_eq!(yank.status.as_u16(), expect(pkg_ok, 200), "{who} yank");
            assert_eq!(unyank.status.as_u16(), expect(pkg_ok, 200), "{who} unyank");
            assert_eq!(
                file_push.status.as_u16(),
                expect(file_ok, 200),
                "{who} file push"
            );
            assert_eq!(
                file_remove.status.as_u16(),
                expect(file_ok, 200),
                "{who} file remove"
            );
            // Refused writes changed nothing.
            let versions = call(
                &app,
                Method::GET,
                "/api/v1/packages/ns%3Aapp/versions",
                &admin,
                "",
            )
            .await
            .json();
            assert_eq!(
                versions["versions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v == version.as_str()),
                pkg_ok == 0,
                "{who}"
            );
            let discover = call(&app, Method::GET, "/registry/discover", &admin, "")
                .await
                .json();
            let names: Vec<&str> = discover
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names.contains(&"seed.wasm"),
                file_ok != 0,
                "{who}: {names:?}"
            );
            if file_ok == 0 {
                // Put the seed file back for the next credential.
                let (fct, fbody) = crate::multipart(&[], Some(("file", "seed.wasm", &wasm)));
                app.request_from(
                    REMOTE,
                    Method::POST,
                    "/registry/push",
                    &[
                        ("content-type", &fct),
                        ("authorization", admin.as_deref().unwrap()),
                    ],
                    fbody,
                )
                .await;
            }
        }
    }
}
