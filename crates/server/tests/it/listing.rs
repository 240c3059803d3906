//! Tags list, catalog, every repository's tags, and referrers.

use serde_json::json;
use wharf_core::Digest;

use crate::{image_manifest, TestApp, OCI_MANIFEST};

async fn tagged(app: &TestApp, repo: &str, tags: &[&str]) {
    let (body, _) = app.push_image(repo, tags[0], b"layer", "").await;
    for tag in &tags[1..] {
        app.push_manifest(repo, tag, OCI_MANIFEST, &body).await;
    }
}

#[tokio::test]
async fn tags_list_without_n_returns_every_tag_in_order() {
    let app = TestApp::new().await;
    let mut tags: Vec<String> = (0..150).map(|i| format!("v{i:03}")).collect();
    tags.push("B".into());
    tags.push("a".into());
    let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    tagged(&app, "r", &refs).await;
    let res = app.get("/v2/r/tags/list").await;
    assert_eq!(res.status, 200);
    assert!(res.header("link").is_none());
    let got: Vec<String> = serde_json::from_value(res.json()["tags"].clone()).unwrap();
    let mut want = tags.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(res.json()["name"], "r");
}

#[tokio::test]
async fn tags_list_pagination() {
    let app = TestApp::new().await;
    tagged(&app, "a/b", &["t1", "t2", "t3", "t4", "t5"]).await;
    let first = app.get("/v2/a/b/tags/list?n=2").await;
    assert_eq!(first.json()["tags"], json!(["t1", "t2"]));
    assert_eq!(
        first.header("link"),
        Some("</v2/a/b/tags/list?n=2&last=t2>; rel=\"next\"")
    );
    let second = app.get("/v2/a/b/tags/list?n=2&last=t2").await;
    assert_eq!(second.json()["tags"], json!(["t3", "t4"]));
    let last = app.get("/v2/a/b/tags/list?n=2&last=t4").await;
    assert_eq!(last.json()["tags"], json!(["t5"]));
    assert!(last.header("link").is_none());
    let exact = app.get("/v2/a/b/tags/list?n=5").await;
    assert_eq!(exact.json()["tags"].as_array().unwrap().len(), 5);
    assert!(exact.header("link").is_none());
    let zero = app.get("/v2/a/b/tags/list?n=0").await;
    assert_eq!(zero.json()["tags"], json!([]));
    assert!(zero.header("link").is_none());
    let after = app.get("/v2/a/b/tags/list?last=t3").await;
    assert_eq!(after.json()["tags"], json!(["t4", "t5"]));
    app.get("/v2/a/b/tags/list?n=-1")
        .await
        .assert_error(400, "UNSUPPORTED");
    app.get("/v2/a/b/tags/list?n=many")
        .await
        .assert_error(400, "UNSUPPORTED");
}

#[tokio::test]
async fn tags_list_of_unknown_repository_is_name_unknown() {
    let app = TestApp::new().await;
    app.get("/v2/nobody/tags/list")
        .await
        .assert_error(404, "NAME_UNKNOWN");
    app.get("/v2/Bad/tags/list")
        .await
        .assert_error(400, "NAME_INVALID");
}

#[tokio::test]
async fn catalog_pagination() {
    let app = TestApp::new().await;
    for repo in ["c", "a", "b/x"] {
        tagged(&app, repo, &["v1"]).await;
    }
    // A repository with blobs but no manifest is not listed.
    app.push_blob("blobs-only", b"x").await;
    assert_eq!(
        app.get("/v2/_catalog").await.json(),
        json!({"repositories": ["a", "b/x", "c"]})
    );
    let page = app.get("/v2/_catalog?n=2").await;
    assert_eq!(page.json()["repositories"], json!(["a", "b/x"]));
    assert_eq!(
        page.header("link"),
        Some("</v2/_catalog?n=2&last=b/x>; rel=\"next\"")
    );
    assert_eq!(
        app.get("/v2/_catalog?n=2&last=b/x").await.json()["repositories"],
        json!(["c"])
    );
}

#[tokio::test]
async fn all_tags_lists_every_repository() {
    let app = TestApp::new().await;
    tagged(&app, "x/one", &["2", "1"]).await;
    tagged(&app, "y", &["latest"]).await;
    let res = app.get("/v2/tags/list").await;
    assert_eq!(
        res.json(),
        json!([{"name": "x/one", "tags": ["1", "2"]}, {"name": "y", "tags": ["latest"]}])
    );
}

#[tokio::test]
async fn referrers_with_artifact_type_filter_and_annotations() {
    let app = TestApp::new().await;
    let (_, subject) = app.push_image("r", "app", b"app", "").await;
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"sig").await;
    let mut pushed = Vec::new();
    for (i, artifact_type) in [
        "application/x-sig",
        "application/x-sbom",
        "application/x-sig",
    ]
    .iter()
    .enumerate()
    {
        let body = image_manifest(
            &config,
            2,
            &layer,
            3,
            &format!(
                r#","artifactType":"{artifact_type}","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{subject}","size":1}},"annotations":{{"n":"{i}"}}"#
            ),
        );
        let digest = Digest::sha256(body.as_bytes());
        app.push_manifest("r", &digest.to_string(), OCI_MANIFEST, &body)
            .await;
        pushed.push((digest, body.len(), *artifact_type, i));
    }
    let res = app.get(&format!("/v2/r/referrers/{subject}")).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/vnd.oci.image.index.v1+json")
    );
    assert!(res.header("oci-filters-applied").is_none());
    let index = res.json();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let listed = index["manifests"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for (digest, size, artifact_type, i) in &pushed {
        let d = listed
            .iter()
            .find(|d| d["digest"] == digest.to_string())
            .expect("listed");
        assert_eq!(d["mediaType"], OCI_MANIFEST);
        assert_eq!(d["size"], *size);
        assert_eq!(d["artifactType"], *artifact_type);
        assert_eq!(d["annotations"], json!({"n": i.to_string()}));
    }
    let filtered = app
        .get(&format!(
            "/v2/r/referrers/{subject}?artifactType=application/x-sig"
        ))
        .await;
    assert_eq!(filtered.header("oci-filters-applied"), Some("artifactType"));
    assert_eq!(filtered.json()["manifests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn referrers_artifact_type_defaults_to_config_media_type() {
    let app = TestApp::new().await;
    let subject = Digest::sha256(b"subject");
    let config = app.push_blob("r", b"{}").await;
    let layer = app.push_blob("r", b"x").await;
    let body = image_manifest(
        &config,
        2,
        &layer,
        1,
        &format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{subject}","size":1}}"#),
    );
    app.push_manifest(
        "r",
        &Digest::sha256(body.as_bytes()).to_string(),
        OCI_MANIFEST,
        &body,
    )
    .await;
    let res = app.get(&format!("/v2/r/referrers/{subject}")).await;
    assert_eq!(
        res.json()["manifests"][0]["artifactType"],
        "application/vnd.oci.image.config.v1+json"
    );
}

#[tokio::test]
async fn referrers_of_unknown_digest_is_an_empty_index() {
    let app = TestApp::new().await;
    let res = app
        .get(&format!("/v2/r/referrers/{}", Digest::sha256(b"none")))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["manifests"], json!([]));
    app.get("/v2/r/referrers/sha256:bad")
        .await
        .assert_error(400, "DIGEST_INVALID");
}
