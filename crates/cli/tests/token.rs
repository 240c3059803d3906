//! `wharf token create|list|revoke` against a real data directory, enforced by a real server.

mod common;

use std::process::Command;

use common::Server;

fn wharf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(args)
        .output()
        .expect("wharf runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_tokens_authorize_pushes_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();

    let created = wharf(&[
        "token",
        "create",
        "--scope",
        "push:acme",
        "--name",
        "ci",
        "--json",
        "--data-dir",
        data_arg,
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["scopes"], serde_json::json!(["push:acme"]));

    let listed = wharf(&["token", "list", "--json", "--data-dir", data_arg]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("token").is_none(), "secrets are never listed");
    assert!(
        !String::from_utf8_lossy(&std::fs::read(data.join("wharf.db")).unwrap()).contains(&secret)
    );

    let server = Server::start(&data).await;
    let http = reqwest::Client::new();
    let push = |auth: Option<String>, repo: &'static str| {
        let mut req = http.post(format!("{}/v2/{repo}/blobs/uploads/", server.base));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        push(None, "acme/app").await,
        401,
        "a token exists: loopback is not trusted"
    );
    assert_eq!(push(Some(secret.clone()), "acme/app").await, 202);
    assert_eq!(push(Some(secret.clone()), "other/app").await, 403);

    let revoked = wharf(&["token", "revoke", &id, "--data-dir", data_arg]);
    assert!(revoked.status.success());
    assert_eq!(push(Some(secret.clone()), "acme/app").await, 401);
    let again = wharf(&["token", "revoke", &id, "--data-dir", data_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no active token"));

    let bad = wharf(&["token", "create", "--scope", "root", "--data-dir", data_arg]);
    assert_eq!(bad.status.code(), Some(2));
}
