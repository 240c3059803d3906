//! Manifests: exact bytes, media types, reference checks, size limit, subject, tags, deletes.

use axum::http::{Method, StatusCode};
use wharf_core::Digest;

use crate::{image_manifest, TestApp, OCI_INDEX, OCI_MANIFEST};

#[tokio::test]
async fn push_and_pull_by_tag_and_digest_returns_exact_bytes() {
    let app = TestApp::new().await;
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"layer").await;
    // Unusual but valid whitespace must survive byte for byte.
    let body = image_manifest(&config, 2, &layer, 5, "").replace(",\"config\"", " ,\n \"config\"");
    let digest = Digest::sha256(body.as_bytes());
    let res = app.push_manifest("r", "v1", OCI_MANIFEST, &body).await;
    assert_eq!(
        res.header("location"),
        Some(format!("/v2/r/manifests/{digest}").as_str())
    );
    assert_eq!(
        res.header("docker-content-digest"),
        Some(digest.to_string().as_str())
    );

    for reference in ["v1".to_owned(), digest.to_string()] {
        let got = app.get(&format!("/v2/r/manifests/{reference}")).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body, body.as_bytes());
        assert_eq!(got.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            got.header("docker-content-digest"),
            Some(digest.to_string().as_str())
        );
        assert_eq!(got.header("etag"), Some(format!("\"{digest}\"").as_str()));
        let head = app.head(&format!("/v2/r/manifests/{reference}")).await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(
            head.header("content-length"),
            Some(body.len().to_string().as_str())
        );
        assert!(head.body.is_empty());
    }
}

#[tokio::test]
async fn docker_schema2_manifest_and_list_keep_their_media_types() {
    let app = TestApp::new().await;
    let config = app.push_blob("d", b"{}").await;
    let layer = app.push_blob("d", b"l").await;
    let docker = "application/vnd.docker.distribution.manifest.v2+json";
    let list = "application/vnd.docker.distribution.manifest.list.v2+json";
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{docker}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{layer}","size":1}}]}}"#
    );
    app.push_manifest("d", "img", docker, &body).await;
    let child = Digest::sha256(body.as_bytes());
    let list_body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{list}","manifests":[{{"mediaType":"{docker}","digest":"{child}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        body.len()
    );
    app.push_manifest("d", "multi", list, &list_body).await;
    assert_eq!(
        app.get("/v2/d/manifests/img").await.header("content-type"),
        Some(docker)
    );
    assert_eq!(
        app.get("/v2/d/manifests/multi")
            .await
            .header("content-type"),
        Some(list)
    );
}

#[tokio::test]
async fn oci_index_requires_its_manifests() {
    let app = TestApp::new().await;
    let (child, child_digest) = app.push_image("i", "child", b"x", "").await;
    let index = |d: &Digest, size: usize| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":{size}}}]}}"#
        )
    };
    app.push_manifest("i", "idx", OCI_INDEX, &index(&child_digest, child.len()))
        .await;
    let missing = Digest::sha256(b"no such manifest");
    let res = app
        .request(
            Method::PUT,
            "/v2/i/manifests/bad",
            &[("content-type", OCI_INDEX)],
            index(&missing, 3),
        )
        .await;
    res.assert_error(400, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        res.json()["errors"][0]["detail"]["digest"],
        missing.to_string()
    );
}

#[tokio::test]
async fn manifest_with_unknown_blob_is_rejected() {
    let app = TestApp::new().await;
    let config = app.push_blob("r", b"{}").await;
    let missing = Digest::sha256(b"missing layer");
    let body = image_manifest(&config, 2, &missing, 13, "");
    let res = app
        .request(
            Method::PUT,
            "/v2/r/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            body,
        )
        .await;
    res.assert_error(400, "MANIFEST_BLOB_UNKNOWN");
    app.get("/v2/r/manifests/v1")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    // A blob linked only to another repository does not count.
    let elsewhere = app.push_blob("other", b"layer").await;
    let body = image_manifest(&config, 2, &elsewhere, 5, "");
    app.request(
        Method::PUT,
        "/v2/r/manifests/v2",
        &[("content-type", OCI_MANIFEST)],
        body,
    )
    .await
    .assert_error(400, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn invalid_manifests_are_400() {
    let app = TestApp::new().await;
    let put = |body: &'static str, ct: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::PUT,
                "/v2/r/manifests/t",
                &[("content-type", ct)],
                body,
            )
            .await
        }
    };
    put("{not json", OCI_MANIFEST)
        .await
        .assert_error(400, "MANIFEST_INVALID");
    put(r#"{"schemaVersion":1}"#, OCI_MANIFEST)
        .await
        .assert_error(400, "MANIFEST_INVALID");
    put(
        r#"{"schemaVersion":2,"mediaType":"application/x-odd"}"#,
        "application/x-odd",
    )
    .await
    .assert_error(400, "MANIFEST_INVALID");
    put(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#, OCI_MANIFEST)
        .await
        .assert_error(400, "MANIFEST_INVALID");
    // Bad tag in the path.
    let res = app
        .request(
            Method::PUT,
            "/v2/r/manifests/-bad",
            &[("content-type", OCI_MANIFEST)],
            "{}",
        )
        .await;
    res.assert_error(400, "MANIFEST_INVALID");
}

#[tokio::test]
async fn push_by_digest_must_match_the_body() {
    let app = TestApp::new().await;
    let (body, _) = app.push_image("r", "v1", b"x", "").await;
    let wrong = Digest::sha256(b"something else");
    app.request(
        Method::PUT,
        &format!("/v2/r/manifests/{wrong}"),
        &[("content-type", OCI_MANIFEST)],
        body.clone(),
    )
    .await
    .assert_error(400, "DIGEST_INVALID");
    let right = Digest::sha256(body.as_bytes());
    app.push_manifest("r", &right.to_string(), OCI_MANIFEST, &body)
        .await;
}

#[tokio::test]
async fn four_mib_manifest_is_accepted_and_larger_is_413() {
    let app = TestApp::new().await;
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"l").await;
    let base = image_manifest(&config, 2, &layer, 1, r#","annotations":{"pad":""}"#);
    let target = 4 * 1024 * 1024;
    let pad = "p".repeat(target - base.len());
    let big = image_manifest(
        &config,
        2,
        &layer,
        1,
        &format!(r#","annotations":{{"pad":"{pad}"}}"#),
    );
    assert_eq!(big.len(), target);
    app.push_manifest("r", "big", OCI_MANIFEST, &big).await;
    assert_eq!(app.get("/v2/r/manifests/big").await.body.len(), target);

    let too_big = big.replacen("\"pad\":\"", "\"pad\":\"pp", 1);
    let len = too_big.len().to_string();
    app.request(
        Method::PUT,
        "/v2/r/manifests/huge",
        &[("content-type", OCI_MANIFEST), ("content-length", &len)],
        too_big.clone(),
    )
    .await
    .assert_error(413, "SIZE_INVALID");
    // Without a declared length the body is cut off at the limit.
    app.request(
        Method::PUT,
        "/v2/r/manifests/huge",
        &[("content-type", OCI_MANIFEST)],
        too_big,
    )
    .await
    .assert_error(413, "SIZE_INVALID");
}

#[tokio::test]
async fn subject_is_answered_with_oci_subject_even_when_absent() {
    let app = TestApp::new().await;
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"sig").await;
    let subject = Digest::sha256(b"not pushed yet");
    let body = image_manifest(
        &config,
        2,
        &layer,
        3,
        &format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{subject}","size":10}}"#),
    );
    let res = app
        .push_manifest(
            "r",
            &Digest::sha256(body.as_bytes()).to_string(),
            OCI_MANIFEST,
            &body,
        )
        .await;
    assert_eq!(
        res.header("oci-subject"),
        Some(subject.to_string().as_str())
    );
}

#[tokio::test]
async fn tag_query_parameters_add_tags() {
    let app = TestApp::new().await;
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"l").await;
    let body = image_manifest(&config, 2, &layer, 1, "");
    let digest = Digest::sha256(body.as_bytes());
    let res = app
        .request(
            Method::PUT,
            &format!("/v2/r/manifests/{digest}?tag=a&tag=b"),
            &[("content-type", OCI_MANIFEST)],
            body,
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let tags: Vec<_> = res
        .headers
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, ["a", "b"]);
    assert_eq!(
        app.get("/v2/r/tags/list").await.json()["tags"],
        serde_json::json!(["a", "b"])
    );
}

#[tokio::test]
async fn retagging_moves_the_tag() {
    let app = TestApp::new().await;
    app.push_image("r", "latest", b"one", "").await;
    let (_, second) = app.push_image("r", "latest", b"two", "").await;
    let got = app.get("/v2/r/manifests/latest").await;
    assert_eq!(
        got.header("docker-content-digest"),
        Some(second.to_string().as_str())
    );
}

#[tokio::test]
async fn delete_tag_keeps_the_manifest() {
    let app = TestApp::new().await;
    let (_, digest) = app.push_image("r", "v1", b"x", "").await;
    assert_eq!(
        app.delete("/v2/r/manifests/v1").await.status,
        StatusCode::ACCEPTED
    );
    app.get("/v2/r/manifests/v1")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(
        app.get(&format!("/v2/r/manifests/{digest}")).await.status,
        StatusCode::OK
    );
    app.delete("/v2/r/manifests/v1")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn delete_by_digest_removes_manifest_and_its_tags() {
    let app = TestApp::new().await;
    let (body, digest) = app.push_image("r", "v1", b"x", "").await;
    app.push_manifest("r", "v2", OCI_MANIFEST, &body).await;
    assert_eq!(
        app.delete(&format!("/v2/r/manifests/{digest}"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    app.get(&format!("/v2/r/manifests/{digest}"))
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    app.get("/v2/r/manifests/v1")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    app.get("/v2/r/manifests/v2")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    app.delete(&format!("/v2/r/manifests/{digest}"))
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn malformed_references_on_read() {
    let app = TestApp::new().await;
    app.get("/v2/r/manifests/sha256:totallywrong")
        .await
        .assert_error(400, "DIGEST_INVALID");
    app.get("/v2/r/manifests/.hidden")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    app.get("/v2/r/manifests/nope")
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
    app.delete("/v2/r/manifests/sha256:bad")
        .await
        .assert_error(400, "DIGEST_INVALID");
}

#[tokio::test]
async fn manifests_are_per_repository() {
    let app = TestApp::new().await;
    let (_, digest) = app.push_image("one", "v1", b"x", "").await;
    app.get(&format!("/v2/two/manifests/{digest}"))
        .await
        .assert_error(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn foreign_layers_with_urls_need_not_be_pushed() {
    let app = TestApp::new().await;
    let config = app.push_blob("win", b"{}").await;
    let foreign = Digest::sha256(b"windows base layer");
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{foreign}","size":18,"urls":["https://example.invalid/layer"]}}]}}"#
    );
    app.push_manifest("win", "ltsc", OCI_MANIFEST, &body).await;
}
