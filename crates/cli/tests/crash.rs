//! Crash safety: `kill -9` in the middle of a chunked 64 MiB upload loses nothing that was
//! acknowledged, never exposes a partial blob, and the upload resumes after a restart.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{pseudo_random, Server};
use wharf_client::OciClient;
use wharf_core::manifest::media_type;
use wharf_core::{Digest, RepoName};

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 4 * MIB;
const TOTAL: usize = 64 * MIB;
const CHUNKS_BEFORE_CRASH: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_chunk_then_resume_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let repo = RepoName::parse("crash/test").unwrap();

    let server = Server::start(&data_dir).await;
    let client = OciClient::new(&server.base).unwrap();

    // Content pushed and acknowledged before the crash.
    let config = Bytes::from_static(b"{}");
    let layer = Bytes::from(pseudo_random(300_000, 7));
    let config_digest = client.push_blob(&repo, config.clone()).await.unwrap();
    let layer_digest = client.push_blob(&repo, layer.clone()).await.unwrap();
    let manifest = Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
        media_type::OCI_MANIFEST,
        config.len(),
        layer.len()
    ));
    let manifest_digest = client
        .push_manifest(&repo, "before", media_type::OCI_MANIFEST, manifest.clone())
        .await
        .unwrap();

    // The big upload: six 4 MiB chunks acknowledged, then a seventh cut off half way.
    let data = Bytes::from(pseudo_random(TOTAL, 42));
    let digest = Digest::sha256(&data);
    let mut session = client.start_upload(&repo).await.unwrap();
    for i in 0..CHUNKS_BEFORE_CRASH {
        session = client
            .upload_chunk(&session, data.slice(i * CHUNK..(i + 1) * CHUNK))
            .await
            .unwrap();
    }
    let acknowledged = (CHUNKS_BEFORE_CRASH * CHUNK) as u64;
    assert_eq!(session.offset, acknowledged);
    assert_eq!(client.blob_size(&repo, &digest).await.unwrap(), None);

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let half = data.slice(acknowledged as usize..acknowledged as usize + CHUNK / 2);
    let cut = tokio::spawn({
        let client = client.clone();
        let session = session.clone();
        async move {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            client
                .upload_body(&session, CHUNK as u64, reqwest::Body::wrap_stream(stream))
                .await
        }
    });
    tx.send(Ok(half)).await.unwrap();
    // Give the server time to write what it received, then pull the plug.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let port = server.port();
    server.kill9();
    drop(tx);
    let interrupted = tokio::time::timeout(Duration::from_secs(10), cut)
        .await
        .expect("the cut request ends")
        .unwrap();
    assert!(
        interrupted.is_err(),
        "a chunk cut by a crash must not be acknowledged"
    );

    // Restart on the same data directory and address.
    let server = Server::start_on(&data_dir, port).await;
    let client = OciClient::new(&server.base).unwrap();
    assert_eq!(
        client.blob_size(&repo, &digest).await.unwrap(),
        None,
        "a partial blob must never be visible"
    );
    let resumed = client.upload_status(&session.location).await.unwrap();
    assert!(
        resumed.offset >= acknowledged && resumed.offset <= acknowledged + (CHUNK / 2) as u64,
        "the server reports {} bytes; {acknowledged} were acknowledged",
        resumed.offset
    );

    // Continue from the reported offset, in 4 MiB chunks, and close with the digest.
    let mut session = resumed;
    let mut rounds = 0;
    while (session.offset as usize) < TOTAL {
        rounds += 1;
        assert!(rounds <= TOTAL / CHUNK + 1, "upload does not converge");
        let start = session.offset as usize;
        let end = (start + CHUNK).min(TOTAL);
        session = client
            .upload_chunk(&session, data.slice(start..end))
            .await
            .unwrap();
    }
    client.finish_upload(&session, &digest).await.unwrap();
    let stored = client.get_blob(&repo, &digest).await.unwrap();
    assert_eq!(stored.len(), TOTAL);
    assert_eq!(Digest::sha256(&stored), digest);

    // Streaming, not buffering: the server never held the 64 MiB blob in memory.
    let peak = server.peak_rss();
    assert!(
        peak < (TOTAL / 2) as u64,
        "server peak RSS {} MiB after a {} MiB push and pull",
        peak / MIB as u64,
        TOTAL / MIB
    );

    // Everything acknowledged before the crash still reads back with its digest.
    assert_eq!(
        client.get_blob(&repo, &config_digest).await.unwrap(),
        config
    );
    assert_eq!(client.get_blob(&repo, &layer_digest).await.unwrap(), layer);
    let (mt, body) = client.get_manifest(&repo, "before").await.unwrap();
    assert_eq!(mt, media_type::OCI_MANIFEST);
    assert_eq!(body, manifest);
    let (_, by_digest) = client
        .get_manifest(&repo, &manifest_digest.to_string())
        .await
        .unwrap();
    assert_eq!(by_digest, manifest);

    // No temp file or partial blob is left where blobs live.
    let blob_files = walk(&data_dir.join("blobs"));
    assert_eq!(blob_files, 4, "config, layer, manifest and the big blob");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}
