//! Blob uploads: monolithic, single-POST, chunked (with 416 and resume), streamed, cancel,
//! mounts, limits, and sessions that survive a restart.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use wharf_core::Digest;

use crate::TestApp;

async fn start(app: &TestApp, repo: &str) -> String {
    let res = app
        .request(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.header("range"), None, "an empty upload has no range");
    let location = res.header("location").unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "session id is a UUID: {location}"
    );
    assert_eq!(res.header("docker-upload-uuid"), Some(id));
    location
}

async fn patch(
    app: &TestApp,
    location: &str,
    range: Option<&str>,
    data: &'static [u8],
) -> crate::Resp {
    let len = data.len().to_string();
    let mut headers = vec![("content-length", len.as_str())];
    if let Some(r) = range {
        headers.push(("content-range", r));
    }
    app.request(Method::PATCH, location, &headers, Bytes::from_static(data))
        .await
}

#[tokio::test]
async fn monolithic_post_then_put() {
    let app = TestApp::new().await;
    let location = start(&app, "a/b").await;
    let digest = Digest::sha256(b"hello");
    let res = app
        .request(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            "hello",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        res.header("location"),
        Some(format!("/v2/a/b/blobs/{digest}").as_str())
    );
    assert_eq!(
        res.header("docker-content-digest"),
        Some(digest.to_string().as_str())
    );
    let blob = app.get(&format!("/v2/a/b/blobs/{digest}")).await;
    assert_eq!(blob.status, StatusCode::OK);
    assert_eq!(&blob.body[..], b"hello");
    // The session is closed.
    app.get(&location)
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn single_post_with_digest_creates_the_blob() {
    let app = TestApp::new().await;
    let digest = Digest::sha256(b"one shot");
    let res = app
        .request(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={digest}"),
            &[],
            "one shot",
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        res.header("location"),
        Some(format!("/v2/r/blobs/{digest}").as_str())
    );
    assert_eq!(
        &app.get(&format!("/v2/r/blobs/{digest}")).await.body[..],
        b"one shot"
    );
}

#[tokio::test]
async fn single_post_with_wrong_digest_is_400_and_stores_nothing() {
    let app = TestApp::new().await;
    let digest = Digest::sha256(b"other");
    let res = app
        .request(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={digest}"),
            &[],
            "content",
        )
        .await;
    res.assert_error(400, "DIGEST_INVALID");
    assert_eq!(
        app.head(&format!("/v2/r/blobs/{digest}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v2/r/blobs/{}", Digest::sha256(b"content")))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn put_with_wrong_digest_is_400_and_blob_stays_invisible() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    let wrong = Digest::sha256(b"not it");
    let res = app
        .request(
            Method::PUT,
            &format!("{location}?digest={wrong}"),
            &[],
            "data",
        )
        .await;
    res.assert_error(400, "DIGEST_INVALID");
    assert_eq!(
        res.json()["errors"][0]["detail"]["actual"],
        Digest::sha256(b"data").to_string()
    );
    app.get(&format!("/v2/r/blobs/{wrong}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
    app.get(&format!("/v2/r/blobs/{}", Digest::sha256(b"data")))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn put_without_or_with_malformed_digest_is_400() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    app.request(Method::PUT, &location, &[], "x")
        .await
        .assert_error(400, "DIGEST_INVALID");
    app.request(
        Method::PUT,
        &format!("{location}?digest=sha256:zz"),
        &[],
        "x",
    )
    .await
    .assert_error(400, "DIGEST_INVALID");
    app.request(Method::PUT, &format!("{location}?digest=md5:abc"), &[], "x")
        .await
        .assert_error(400, "DIGEST_INVALID");
}

#[tokio::test]
async fn chunked_upload_out_of_order_is_416_and_resumes() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    let first = patch(&app, &location, Some("0-4"), b"01234").await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(first.header("range"), Some("0-4"));
    assert_eq!(first.header("location"), Some(location.as_str()));

    let skipped = patch(&app, &location, Some("10-14"), b"abcde").await;
    skipped.assert_error(416, "BLOB_UPLOAD_INVALID");
    assert_eq!(skipped.header("range"), Some("0-4"));
    let replayed = patch(&app, &location, Some("0-4"), b"01234").await;
    assert_eq!(replayed.status, StatusCode::RANGE_NOT_SATISFIABLE);

    let status = app.get(&location).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-4"));
    assert_eq!(status.header("location"), Some(location.as_str()));

    let second = patch(&app, &location, Some("5-9"), b"56789").await;
    assert_eq!(second.header("range"), Some("0-9"));

    // The last chunk travels with the closing PUT.
    let digest = Digest::sha256(b"0123456789abc");
    let done = app
        .request(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[("content-range", "10-12"), ("content-length", "3")],
            "abc",
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED);
    assert_eq!(
        &app.get(&format!("/v2/r/blobs/{digest}")).await.body[..],
        b"0123456789abc"
    );
}

#[tokio::test]
async fn chunk_headers_must_agree() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    let res = app
        .request(
            Method::PATCH,
            &location,
            &[("content-range", "0-9"), ("content-length", "5")],
            "01234",
        )
        .await;
    res.assert_error(400, "SIZE_INVALID");
    patch(&app, &location, Some("bogus"), b"01234")
        .await
        .assert_error(400, "BLOB_UPLOAD_INVALID");
    patch(&app, &location, Some("5-1"), b"01234")
        .await
        .assert_error(400, "BLOB_UPLOAD_INVALID");
    // Nothing was written by the rejected requests.
    assert_eq!(app.get(&location).await.header("range"), None);
}

#[tokio::test]
async fn streamed_upload_appends_without_content_range() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    let a = app.request(Method::PATCH, &location, &[], "stream-").await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(a.header("range"), Some("0-6"));
    let b = app.request(Method::PATCH, &location, &[], "ed").await;
    assert_eq!(b.header("range"), Some("0-8"));
    let digest = Digest::sha256(b"stream-ed");
    let done = app
        .request(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED);
}

#[tokio::test]
async fn cancelled_upload_is_gone() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    patch(&app, &location, Some("0-2"), b"abc").await;
    let res = app.delete(&location).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    app.get(&location)
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    patch(&app, &location, None, b"x")
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    app.delete(&location)
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn unknown_or_foreign_sessions_are_404() {
    let app = TestApp::new().await;
    app.get("/v2/r/blobs/uploads/not-a-uuid")
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    app.get(&format!("/v2/r/blobs/uploads/{}", uuid::Uuid::new_v4()))
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    app.get("/v2/r/blobs/uploads/..%2F..%2Fwharf.db")
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    // A session belongs to the repository that opened it.
    let location = start(&app, "mine").await;
    let id = location.rsplit('/').next().unwrap();
    app.get(&format!("/v2/theirs/blobs/uploads/{id}"))
        .await
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn upload_session_survives_restart() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    patch(&app, &location, Some("0-3"), b"keep").await;
    let app = app.restart().await;
    let status = app.get(&location).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-3"));
    patch(&app, &location, Some("4-7"), b"safe").await;
    let digest = Digest::sha256(b"keepsafe");
    let done = app
        .request(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED);
}

#[tokio::test]
async fn mount_from_another_repository() {
    let app = TestApp::new().await;
    let digest = app.push_blob("src", b"shared").await;
    let res = app
        .request(
            Method::POST,
            &format!("/v2/dst/blobs/uploads/?mount={digest}&from=src"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        res.header("location"),
        Some(format!("/v2/dst/blobs/{digest}").as_str())
    );
    assert_eq!(
        &app.get(&format!("/v2/dst/blobs/{digest}")).await.body[..],
        b"shared"
    );
}

#[tokio::test]
async fn mount_that_cannot_happen_opens_a_session() {
    let app = TestApp::new().await;
    let digest = app.push_blob("src", b"shared").await;
    // `from` does not hold the blob.
    let res = app
        .request(
            Method::POST,
            &format!("/v2/dst/blobs/uploads/?mount={digest}&from=elsewhere"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert!(res
        .header("location")
        .unwrap()
        .starts_with("/v2/dst/blobs/uploads/"));
    // Unknown blob, no `from`.
    let unknown = Digest::sha256(b"nobody has this");
    let res = app
        .request(
            Method::POST,
            &format!("/v2/dst/blobs/uploads/?mount={unknown}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    app.get(&format!("/v2/dst/blobs/{digest}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn automatic_mount_without_from() {
    let app = TestApp::new().await;
    let digest = app.push_blob("src", b"known").await;
    let res = app
        .request(
            Method::POST,
            &format!("/v2/dst/blobs/uploads/?mount={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(
        app.get(&format!("/v2/dst/blobs/{digest}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn mount_of_malformed_digest_is_400_and_of_invalid_from_is_a_session() {
    let app = TestApp::new().await;
    app.request(
        Method::POST,
        "/v2/dst/blobs/uploads/?mount=sha256:nope",
        &[],
        Body::empty(),
    )
    .await
    .assert_error(400, "DIGEST_INVALID");
    let d = app.push_blob("src", b"x").await;
    let res = app
        .request(
            Method::POST,
            &format!("/v2/dst/blobs/uploads/?mount={d}&from=Bad..Name"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::ACCEPTED,
        "an invalid `from` mounts nothing"
    );
    app.get(&format!("/v2/dst/blobs/{d}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn blob_over_the_limit_is_413() {
    let app = TestApp::with(|c| c.limits.max_blob_bytes = 10).await;
    let digest = Digest::sha256(b"eleven byte");
    // Declared length over the limit: refused before reading.
    app.request(
        Method::POST,
        &format!("/v2/r/blobs/uploads/?digest={digest}"),
        &[("content-length", "11")],
        "eleven byte",
    )
    .await
    .assert_error(413, "SIZE_INVALID");
    // No declared length: cut off while streaming.
    let location = start(&app, "r").await;
    app.request(Method::PATCH, &location, &[], "0123456789abc")
        .await
        .assert_error(413, "SIZE_INVALID");
    let ok = app
        .request(
            Method::PATCH,
            &format!("/v2/r/blobs/uploads/{}", uuid::Uuid::new_v4()),
            &[],
            "x",
        )
        .await;
    ok.assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    app.get(&format!("/v2/r/blobs/{digest}"))
        .await
        .assert_error(404, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn chunk_longer_than_its_content_range_is_refused_unwritten() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    // No Content-Length: the body is streamed; its excess must not reach the upload.
    let res = app
        .request(
            Method::PATCH,
            &location,
            &[("content-range", "0-2")],
            "abcdef",
        )
        .await;
    res.assert_error(400, "BLOB_UPLOAD_INVALID");
    assert_eq!(app.get(&location).await.header("range"), None);
    let ok = patch(&app, &location, Some("0-2"), b"abc").await;
    assert_eq!(ok.header("range"), Some("0-2"));
}

#[tokio::test]
async fn content_range_ending_at_u64_max_is_400() {
    let app = TestApp::new().await;
    let location = start(&app, "r").await;
    patch(&app, &location, Some("0-18446744073709551615"), b"")
        .await
        .assert_error(400, "BLOB_UPLOAD_INVALID");
}

#[tokio::test]
async fn stalled_upload_is_cut_off_and_releases_the_session() {
    let app = TestApp::with(|c| c.limits.body_idle_timeout_secs = 1).await;
    let location = start(&app, "r").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tx.send(Ok(Bytes::from_static(b"abc"))).await.unwrap();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    // The sender stays alive but silent: the server gives up after the idle timeout.
    let res = app
        .request(Method::PATCH, &location, &[], Body::from_stream(stream))
        .await;
    res.assert_error(400, "BLOB_UPLOAD_INVALID");
    drop(tx);
    // What arrived is kept and the session is usable again.
    let status = app.get(&location).await;
    assert_eq!(status.header("range"), Some("0-2"));
    let next = patch(&app, &location, Some("3-5"), b"def").await;
    assert_eq!(next.header("range"), Some("0-5"));
}
