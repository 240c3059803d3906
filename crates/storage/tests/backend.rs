//! The backend test suite: every `BlobStore` and `MetadataStore` implementation must pass the same
//! checks. The embedded backends (filesystem, SQLite) run them here.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use wharf_core::auth::Scope;
use wharf_core::{Algorithm, ByteRange, Digest, RepoName, Tag};
use wharf_storage::fs::collect;
use wharf_storage::{
    BlobStore, ByteStream, FsBlobStore, MetadataStore, NewManifest, PackageStats, Page,
    SqliteMetadataStore, StorageError, TokenRecord, UploadRecord, VersionRecord,
};

fn stream(parts: &[&'static [u8]]) -> ByteStream {
    let items: Vec<io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
    futures_util::stream::iter(items).boxed()
}

fn broken_stream(first: &'static [u8]) -> ByteStream {
    let items: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::from_static(first)),
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "client went away",
        )),
    ];
    futures_util::stream::iter(items).boxed()
}

async fn read_all(store: &dyn BlobStore, d: &Digest, range: Option<ByteRange>) -> Vec<u8> {
    collect(store.read(d, range).await.unwrap().expect("blob stored"))
        .await
        .unwrap()
}

/// The checks every blob store passes.
async fn blob_store_suite(store: Arc<dyn BlobStore>) {
    let unknown = Digest::sha256(b"unknown");
    assert_eq!(store.stat(&unknown).await.unwrap(), None);
    assert!(store.read(&unknown, None).await.unwrap().is_none());

    // Small content with a caller-computed digest.
    let d = Digest::sha256(b"0123456789");
    store
        .put(&d, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    store
        .put(&d, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    assert_eq!(store.stat(&d).await.unwrap(), Some(10));
    assert_eq!(read_all(&*store, &d, None).await, b"0123456789");
    let r = ByteRange { start: 3, end: 5 };
    assert_eq!(read_all(&*store, &d, Some(r)).await, b"345");

    // An upload in pieces, with offset checks.
    store.upload_create("u1").await.unwrap();
    assert_eq!(store.upload_size("u1").await.unwrap(), Some(0));
    let size = store
        .upload_append("u1", Some(0), stream(&[b"hello ", b"wor"]), None)
        .await;
    assert_eq!(size.unwrap(), 9);
    match store
        .upload_append("u1", Some(4), stream(&[b"x"]), None)
        .await
    {
        Err(StorageError::OffsetMismatch {
            given: 4,
            current: 9,
        }) => {}
        other => panic!("expected an offset mismatch, got {other:?}"),
    }
    assert_eq!(
        store
            .upload_append("u1", None, stream(&[b"ld"]), None)
            .await
            .unwrap(),
        11
    );
    let right = Digest::sha256(b"hello world");
    let wrong = Digest::sha256(b"hello there");
    match store.upload_commit("u1", Some(&wrong)).await {
        Err(StorageError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, right);
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(store.stat(&wrong).await.unwrap(), None);
    assert_eq!(
        store.stat(&right).await.unwrap(),
        None,
        "invisible until committed"
    );
    assert_eq!(
        store.upload_size("u1").await.unwrap(),
        Some(11),
        "kept after a mismatch"
    );
    assert_eq!(
        store.upload_commit("u1", Some(&right)).await.unwrap(),
        (right.clone(), 11)
    );
    assert_eq!(read_all(&*store, &right, None).await, b"hello world");
    assert_eq!(store.upload_size("u1").await.unwrap(), None);
    assert!(matches!(
        store.upload_commit("u1", Some(&right)).await,
        Err(StorageError::UploadNotFound(_))
    ));

    // Limits, broken bodies, other algorithms.
    store.upload_create("u2").await.unwrap();
    assert!(matches!(
        store
            .upload_append("u2", None, stream(&[b"12345", b"678"]), Some(6))
            .await,
        Err(StorageError::TooLarge { limit: 6 })
    ));
    store.upload_abort("u2").await.unwrap();
    store.upload_abort("u2").await.unwrap();
    assert_eq!(store.upload_size("u2").await.unwrap(), None);

    store.upload_create("u3").await.unwrap();
    assert!(matches!(
        store
            .upload_append("u3", None, broken_stream(b"part"), None)
            .await,
        Err(StorageError::Body(_))
    ));
    assert_eq!(
        store.upload_size("u3").await.unwrap(),
        Some(4),
        "what arrived is kept"
    );
    store
        .upload_append("u3", Some(4), stream(&[b"ial"]), None)
        .await
        .unwrap();
    let sha512 = Digest::of(Algorithm::Sha512, b"partial");
    assert_eq!(store.upload_commit("u3", Some(&sha512)).await.unwrap().1, 7);
    assert_eq!(read_all(&*store, &sha512, None).await, b"partial");

    // Concurrent appends to one upload are serialised, not interleaved mid-chunk.
    store.upload_create("u4").await.unwrap();
    let (a, b) = tokio::join!(
        store.upload_append("u4", None, stream(&[b"aaaa", b"aaaa"]), None),
        store.upload_append("u4", None, stream(&[b"bbbb", b"bbbb"]), None),
    );
    a.unwrap();
    b.unwrap();
    let expect_ab = Digest::sha256(b"aaaaaaaabbbbbbbb");
    let expect_ba = Digest::sha256(b"bbbbbbbbaaaaaaaa");
    let committed = match store.upload_commit("u4", Some(&expect_ab)).await {
        Ok(_) => expect_ab,
        Err(StorageError::DigestMismatch { .. }) => {
            store.upload_commit("u4", Some(&expect_ba)).await.unwrap();
            expect_ba
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(store.stat(&committed).await.unwrap(), Some(16));

    // Without an expected digest the blob lands under its SHA-256.
    store.upload_create("u5").await.unwrap();
    store
        .upload_append("u5", None, stream(&[b"any", b"thing"]), None)
        .await
        .unwrap();
    let (d, size) = store.upload_commit("u5", None).await.unwrap();
    assert_eq!((d.clone(), size), (Digest::sha256(b"anything"), 8));
    assert_eq!(read_all(&*store, &d, None).await, b"anything");

    // Ids that could escape the upload area are unknown uploads.
    for bad in ["../escape", "", "a/b"] {
        assert!(matches!(
            store.upload_append(bad, None, stream(&[b"x"]), None).await,
            Err(StorageError::UploadNotFound(_))
        ));
    }
    assert!(matches!(
        store
            .upload_append("never-created", None, stream(&[b"x"]), None)
            .await,
        Err(StorageError::UploadNotFound(_))
    ));
}

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

fn manifest(
    r: &RepoName,
    body: &[u8],
    subject: Option<&Digest>,
    artifact_type: &str,
) -> NewManifest {
    NewManifest {
        repo: r.clone(),
        digest: Digest::sha256(body),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: Some(artifact_type.into()),
        subject: subject.cloned(),
        size: body.len() as u64,
        annotations: BTreeMap::from([("k".to_owned(), String::from_utf8_lossy(body).into_owned())]),
        references: vec![Digest::sha256(b"layer")],
    }
}

fn version(package: &str, v: &str, description: &str, imports: &[&str]) -> VersionRecord {
    VersionRecord {
        package: package.into(),
        namespace: package.split(':').next().unwrap().into(),
        version: v.into(),
        description: description.into(),
        license: Some("MIT".into()),
        repository: None,
        wit_url: None,
        size: 8,
        sha256: "00".repeat(32),
        manifest_digest: Digest::sha256(v.as_bytes()).to_string(),
        dependencies: serde_json::json!([{"name": "wasi:io", "version": "^0.2", "optional": false}]),
        targets: vec!["wasm32-wasip2".into()],
        imports: imports.iter().map(|s| s.to_string()).collect(),
        exports: vec![],
        yanked: false,
        downloads: 0,
        published_at: 1,
    }
}

/// The checks every metadata store passes.
async fn metadata_store_suite(store: Arc<dyn MetadataStore>) {
    let a = repo("ns/a");
    let b = repo("ns/b");
    let blob = Digest::sha256(b"layer");
    assert!(!store.repo_exists(&a).await.unwrap());
    assert_eq!(store.known_blob(&blob).await.unwrap(), None);

    store.link_blob(&a, &blob, 5).await.unwrap();
    store.link_blob(&a, &blob, 5).await.unwrap();
    assert!(store.repo_exists(&a).await.unwrap());
    assert_eq!(store.linked_blob(&a, &blob).await.unwrap(), Some(5));
    assert_eq!(store.linked_blob(&b, &blob).await.unwrap(), None);
    assert_eq!(store.known_blob(&blob).await.unwrap(), Some(5));

    // Manifests, tags, referrers.
    let m1 = manifest(&a, b"one", None, "application/x-app");
    store
        .put_manifest(&m1, &[tag("v1"), tag("latest")])
        .await
        .unwrap();
    store.put_manifest(&m1, &[]).await.unwrap();
    let got = store.manifest(&a, &m1.digest).await.unwrap().unwrap();
    assert_eq!(got.digest, m1.digest);
    assert_eq!(got.size, 3);
    assert_eq!(got.annotations.get("k").map(String::as_str), Some("one"));
    assert_eq!(
        store
            .tagged_manifest(&a, &tag("latest"))
            .await
            .unwrap()
            .unwrap()
            .digest,
        m1.digest
    );
    assert!(store.manifest(&b, &m1.digest).await.unwrap().is_none());

    let sig = manifest(&a, b"sig", Some(&m1.digest), "application/x-sig");
    let sbom = manifest(&a, b"sbom", Some(&m1.digest), "application/x-sbom");
    store.put_manifest(&sig, &[]).await.unwrap();
    store.put_manifest(&sbom, &[]).await.unwrap();
    assert_eq!(
        store.referrers(&a, &m1.digest, None).await.unwrap().len(),
        2
    );
    let only = store
        .referrers(&a, &m1.digest, Some("application/x-sig"))
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].digest, sig.digest);
    assert_eq!(only[0].subject.as_ref(), Some(&m1.digest));
    assert!(store
        .referrers(&b, &m1.digest, None)
        .await
        .unwrap()
        .is_empty());

    for t in ["b", "c", "a"] {
        store.put_manifest(&m1, &[tag(t)]).await.unwrap();
    }
    let all = store.list_tags(&a, Page::default()).await.unwrap();
    assert_eq!(all, ["a", "b", "c", "latest", "v1"]);
    let page = store
        .list_tags(
            &a,
            Page {
                last: Some("b"),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(page, ["c", "latest"]);

    let tagged = store.tagged_manifests(&a).await.unwrap();
    assert_eq!(tagged.len(), 5);
    assert_eq!(tagged[0].0, "a");
    assert_eq!(tagged[0].1.digest, m1.digest);
    assert!(store
        .tagged_manifests(&repo("none/here"))
        .await
        .unwrap()
        .is_empty());

    let m2 = manifest(&b, b"two", None, "application/x-app");
    store.put_manifest(&m2, &[tag("x")]).await.unwrap();
    assert_eq!(
        store.list_repositories(Page::default()).await.unwrap(),
        ["ns/a", "ns/b"]
    );
    assert_eq!(
        store
            .list_repositories(Page {
                last: Some("ns/a"),
                limit: None
            })
            .await
            .unwrap(),
        ["ns/b"]
    );
    let everything = store.all_tags().await.unwrap();
    assert_eq!(everything.len(), 2);
    assert_eq!(everything[1], ("ns/b".to_owned(), vec!["x".to_owned()]));

    // Deletes.
    assert!(store.delete_tag(&a, &tag("a")).await.unwrap());
    assert!(!store.delete_tag(&a, &tag("a")).await.unwrap());
    assert!(store.delete_manifest(&a, &m1.digest).await.unwrap());
    assert!(!store.delete_manifest(&a, &m1.digest).await.unwrap());
    assert!(store
        .list_tags(&a, Page::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .tagged_manifest(&a, &tag("v1"))
        .await
        .unwrap()
        .is_none());
    assert!(store.unlink_blob(&a, &blob).await.unwrap());
    assert!(!store.unlink_blob(&a, &blob).await.unwrap());
    assert_eq!(store.known_blob(&blob).await.unwrap(), None);

    // Tokens: looked up by hash, revocable, listed without secrets.
    assert!(!store.has_active_tokens().await.unwrap());
    let token = TokenRecord {
        id: "t1".into(),
        name: "ci".into(),
        scopes: vec![Scope::Push("ns".into()), Scope::Pull],
        created_at: 7,
        revoked_at: None,
    };
    store.create_token(&token, "hash-1").await.unwrap();
    assert!(
        store.create_token(&token, "hash-2").await.is_err(),
        "ids are unique"
    );
    assert!(store.has_active_tokens().await.unwrap());
    assert_eq!(
        store.token_by_hash("hash-1").await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.token_by_hash("other").await.unwrap(), None);
    assert!(store.revoke_token("t1").await.unwrap());
    assert!(!store.revoke_token("t1").await.unwrap());
    assert_eq!(store.token_by_hash("hash-1").await.unwrap(), None);
    assert!(!store.has_active_tokens().await.unwrap());
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());

    // Packages: versions are immutable, published atomically with their tag.
    let pkg_repo = repo("acme/tool");
    let v1 = version(
        "acme:tool",
        "1.0.0",
        "A tool for 50% of cases",
        &["wasi:cli/stdout@0.2.0"],
    );
    let m1 = manifest(
        &pkg_repo,
        b"tool-1",
        None,
        "application/vnd.wasm.config.v0+json",
    );
    store
        .publish_version(&v1, Some((&m1, &tag("1.0.0"))))
        .await
        .unwrap();
    assert_eq!(
        store
            .tagged_manifest(&pkg_repo, &tag("1.0.0"))
            .await
            .unwrap()
            .unwrap()
            .digest,
        m1.digest
    );
    let again = manifest(
        &pkg_repo,
        b"tool-1-again",
        None,
        "application/vnd.wasm.config.v0+json",
    );
    assert!(matches!(
        store
            .publish_version(&v1, Some((&again, &tag("1.0.0"))))
            .await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(
        store
            .tagged_manifest(&pkg_repo, &tag("1.0.0"))
            .await
            .unwrap()
            .unwrap()
            .digest,
        m1.digest,
        "a refused publish changes nothing"
    );
    let v2 = version("acme:tool", "1.1.0", "Newer", &[]);
    store.publish_version(&v2, None).await.unwrap();
    store
        .publish_version(&version("other:thing", "0.1.0", "unrelated", &[]), None)
        .await
        .unwrap();
    assert_eq!(
        store.package_names().await.unwrap(),
        ["acme:tool", "other:thing"]
    );
    assert_eq!(store.package_versions("acme:tool").await.unwrap().len(), 2);
    assert_eq!(
        store.package_version("acme:tool", "1.0.0").await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(
        store.package_version("acme:tool", "9.9.9").await.unwrap(),
        None
    );

    let names = |found: Vec<VersionRecord>| {
        let mut n: Vec<String> = found
            .into_iter()
            .map(|v| format!("{}@{}", v.package, v.version))
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(store.search_versions("TOOL").await.unwrap()),
        ["acme:tool@1.0.0", "acme:tool@1.1.0"]
    );
    assert_eq!(
        names(store.search_versions("50%").await.unwrap()),
        ["acme:tool@1.0.0", "acme:tool@1.1.0"]
    );
    assert!(
        store.search_versions("5_%").await.unwrap().is_empty(),
        "LIKE wildcards are literal"
    );
    assert_eq!(
        names(store.search_versions("cli/stdout").await.unwrap()).len(),
        2
    );
    assert_eq!(store.search_versions("").await.unwrap().len(), 3);

    assert!(store.set_yanked("acme:tool", "1.0.0", true).await.unwrap());
    assert!(!store.set_yanked("acme:tool", "7.0.0", true).await.unwrap());
    assert!(
        store
            .package_version("acme:tool", "1.0.0")
            .await
            .unwrap()
            .unwrap()
            .yanked
    );
    assert_eq!(
        names(store.search_versions("tool").await.unwrap()),
        ["acme:tool@1.1.0"]
    );
    store.count_download("acme:tool", "1.1.0").await.unwrap();
    store.count_download("acme:tool", "1.1.0").await.unwrap();
    assert_eq!(
        store
            .package_version("acme:tool", "1.1.0")
            .await
            .unwrap()
            .unwrap()
            .downloads,
        2
    );
    assert_eq!(
        store.package_stats().await.unwrap(),
        PackageStats {
            packages: 2,
            versions: 3,
            downloads: 2
        }
    );

    // Upload sessions.
    let up = UploadRecord {
        id: "id-1".into(),
        repo: a.clone(),
        created_at: 42,
    };
    store.create_upload(&up).await.unwrap();
    assert_eq!(store.upload("id-1").await.unwrap(), Some(up));
    store.delete_upload("id-1").await.unwrap();
    assert_eq!(store.upload("id-1").await.unwrap(), None);
}

#[tokio::test]
async fn fs_blob_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    blob_store_suite(Arc::new(FsBlobStore::open(dir.path()).await.unwrap())).await;
}

#[tokio::test]
async fn fs_upload_resumes_in_a_new_store_instance() {
    let dir = tempfile::tempdir().unwrap();
    let first = FsBlobStore::open(dir.path()).await.unwrap();
    first.upload_create("r1").await.unwrap();
    first
        .upload_append("r1", Some(0), stream(&[b"before "]), None)
        .await
        .unwrap();
    drop(first);
    let second = FsBlobStore::open(dir.path()).await.unwrap();
    second
        .upload_append("r1", Some(7), stream(&[b"restart"]), None)
        .await
        .unwrap();
    let d = Digest::sha256(b"before restart");
    assert_eq!(second.upload_commit("r1", Some(&d)).await.unwrap(), (d, 14));
}

#[tokio::test]
async fn sqlite_metadata_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.db"))
        .await
        .unwrap();
    metadata_store_suite(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_metadata_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let r = repo("keep/me");
    let m = manifest(&r, b"kept", None, "t");
    {
        let store = SqliteMetadataStore::open(&path).await.unwrap();
        store.put_manifest(&m, &[tag("v1")]).await.unwrap();
    }
    let store = SqliteMetadataStore::open(&path).await.unwrap();
    assert_eq!(
        store
            .tagged_manifest(&r, &tag("v1"))
            .await
            .unwrap()
            .unwrap()
            .digest,
        m.digest
    );
}
