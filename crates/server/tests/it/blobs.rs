//! Blob reads and deletes: headers, ranges, per-repository visibility.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use wharf_core::Digest;

use crate::TestApp;

#[tokio::test]
async fn get_and_head_carry_digest_length_and_etag() {
    let app = TestApp::new().await;
    let digest = app.push_blob("r", b"0123456789").await;
    for res in [
        app.get(&format!("/v2/r/blobs/{digest}")).await,
        app.head(&format!("/v2/r/blobs/{digest}")).await,
    ] {
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.header("content-length"), Some("10"));
        assert_eq!(
            res.header("docker-content-digest"),
            Some(digest.to_string().as_str())
        );
        assert_eq!(res.header("etag"), Some(format!("\"{digest}\"").as_str()));
        assert_eq!(
            res.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
    }
    assert_eq!(
        &app.get(&format!("/v2/r/blobs/{digest}")).await.body[..],
        b"0123456789"
    );
    assert!(app
        .head(&format!("/v2/r/blobs/{digest}"))
        .await
        .body
        .is_empty());
}

#[tokio::test]
async fn range_requests() {
    let app = TestApp::new().await;
    let digest = app.push_blob("r", b"0123456789").await;
    let uri = format!("/v2/r/blobs/{digest}");
    let get_range = |r: &'static str| {
        let app = &app;
        let uri = uri.clone();
        async move {
            app.request(Method::GET, &uri, &[("range", r)], Body::empty())
                .await
        }
    };
    let part = get_range("bytes=2-5").await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&part.body[..], b"2345");
    assert_eq!(part.header("content-range"), Some("bytes 2-5/10"));
    assert_eq!(part.header("content-length"), Some("4"));
    assert_eq!(&get_range("bytes=7-").await.body[..], b"789");
    assert_eq!(&get_range("bytes=-3").await.body[..], b"789");
    let beyond = get_range("bytes=10-").await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.header("content-range"), Some("bytes */10"));
    // A Range we do not understand is ignored (RFC 9110): the whole blob.
    let whole = get_range("lines=1-2").await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body.len(), 10);
}

#[tokio::test]
async fn blobs_are_visible_only_in_linked_repositories() {
    let app = TestApp::new().await;
    let digest = app.push_blob("owner", b"private").await;
    app.get(&format!("/v2/stranger/blobs/{digest}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
    let head = app.head(&format!("/v2/stranger/blobs/{digest}")).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_and_malformed_digests() {
    let app = TestApp::new().await;
    let unknown = Digest::sha256(b"never pushed");
    app.get(&format!("/v2/r/blobs/{unknown}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
    let head = app.head(&format!("/v2/r/blobs/{unknown}")).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    app.get("/v2/r/blobs/sha256:short")
        .await
        .assert_error(400, "DIGEST_INVALID");
    app.get("/v2/r/blobs/nonsense")
        .await
        .assert_error(400, "DIGEST_INVALID");
}

#[tokio::test]
async fn sha512_blobs_are_accepted() {
    let app = TestApp::new().await;
    let digest = Digest::of(wharf_core::Algorithm::Sha512, b"long hash");
    let res = app
        .request(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={digest}"),
            &[],
            "long hash",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        &app.get(&format!("/v2/r/blobs/{digest}")).await.body[..],
        b"long hash"
    );
}

#[tokio::test]
async fn delete_unlinks_the_blob() {
    let app = TestApp::new().await;
    let digest = app.push_blob("r", b"bye").await;
    let other = app.push_blob("other", b"bye").await;
    assert_eq!(
        app.delete(&format!("/v2/r/blobs/{digest}")).await.status,
        StatusCode::ACCEPTED
    );
    app.get(&format!("/v2/r/blobs/{digest}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
    app.delete(&format!("/v2/r/blobs/{digest}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
    // Another repository's link is untouched.
    assert_eq!(
        &app.get(&format!("/v2/other/blobs/{other}")).await.body[..],
        b"bye"
    );
}
