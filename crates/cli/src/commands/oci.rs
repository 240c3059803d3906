//! `wharf push <host>/<repo>:<tag> app.wasm` and `wharf pull <reference> -o app.wasm`: a Wasm
//! file as an OCI artifact in the CNCF layout (config `application/vnd.wasm.config.v0+json`, one
//! `application/wasm` layer), uploaded in chunks with progress and verified on the way down.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use serde_json::json;
use wharf_client::OciClient;
use wharf_core::manifest::media_type;
use wharf_core::wasm::{inspect, WasmKind};
use wharf_core::{Digest, Manifest, Reference, RepoName};

use super::Failure;
use crate::output::Progress;
use crate::registry::{normalize, Credentials};

/// Chunk size of uploads.
const CHUNK: usize = 4 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Where to: `host[:port]/repository:tag`
    reference: String,
    /// The .wasm file
    file: PathBuf,
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// What: `host[:port]/repository:tag` or `…@sha256:…`
    reference: String,
    /// Where to write the Wasm file
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    conn: ConnArgs,
}

#[derive(Debug, Args)]
struct ConnArgs {
    /// Use plain http (the default only for localhost and 127.0.0.1)
    #[arg(long)]
    plain_http: bool,
    /// API token [env: WHARF_TOKEN]
    #[arg(long, hide_env_values = true)]
    token: Option<String>,
}

/// `host[:port]/repo:tag` → (base URL, repository, reference).
fn parse_reference(text: &str, plain_http: bool) -> anyhow::Result<(String, RepoName, Reference)> {
    let (host, rest) = text
        .split_once('/')
        .with_context(|| format!("{text:?} is not host[:port]/repository:tag"))?;
    let (repo, reference) = match rest.split_once('@') {
        Some((r, d)) => (r, d),
        None => match rest.rsplit_once(':') {
            Some((r, t)) => (r, t),
            None => (rest, "latest"),
        },
    };
    let repo = RepoName::parse(repo)?;
    let reference = Reference::parse(reference)?;
    let hostname = host
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(']') || h.starts_with('['))
        .map_or(host, |(h, _)| h);
    let local = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]");
    let scheme = if plain_http || local { "http" } else { "https" };
    Ok((format!("{scheme}://{host}"), repo, reference))
}

/// Waits for the registry to answer at all: connection failures are retried with doubling
/// pauses, then reported with the URL. Any HTTP answer (even 401) counts as reachable.
async fn ensure_reachable(client: &OciClient, base: &str) -> Result<(), Failure> {
    let mut pause = std::time::Duration::from_millis(250);
    for attempt in 1..=4 {
        match client.ping().await {
            Err(wharf_client::ClientError::Transport { source, .. }) if attempt == 4 => {
                return Err(anyhow::anyhow!(
                    "the registry at {base} is unreachable (tried 4 times): {source}\n  hint: check the reference's host and that the registry runs"
                )
                .into());
            }
            Err(wharf_client::ClientError::Transport { .. }) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}

fn client(base: &str, token: Option<String>) -> anyhow::Result<OciClient> {
    let token = token
        .or_else(|| std::env::var("WHARF_TOKEN").ok().filter(|t| !t.is_empty()))
        .or_else(|| {
            Credentials::load()
                .ok()
                .and_then(|c| c.registries.get(&normalize(base)).map(|t| t.token.clone()))
        });
    Ok(OciClient::new(base)?.with_token(token))
}

pub async fn push(args: PushArgs) -> Result<(), Failure> {
    let (base, repo, reference) =
        parse_reference(&args.reference, args.conn.plain_http).map_err(Failure::usage)?;
    let Reference::Tag(tag) = reference else {
        return Err(Failure::usage(anyhow::anyhow!(
            "push to a tag (…:1.0.0), not a digest"
        )));
    };
    let data = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let info = inspect(&data).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let client = client(&base, args.conn.token).map_err(Failure::usage)?;
    ensure_reachable(&client, &base).await?;
    let explain = |e: wharf_client::ClientError| -> Failure { anyhow::anyhow!("{e}").into() };

    let layer = Digest::sha256(&data);
    let progress = Progress::new();
    let bar = progress.bar(&args.reference, data.len() as u64);
    let data = Bytes::from(data);
    if client
        .blob_size(&repo, &layer)
        .await
        .map_err(explain)?
        .is_none()
    {
        let mut session = client.start_upload(&repo).await.map_err(explain)?;
        for chunk in data.chunks(CHUNK) {
            session = client
                .upload_chunk(&session, data.slice_ref(chunk))
                .await
                .map_err(explain)?;
            bar.set_position(session.offset);
        }
        client
            .finish_upload(&session, &layer)
            .await
            .map_err(explain)?;
    }
    bar.finish_and_clear();
    let mut config = json!({
        "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "architecture": "wasm",
        "os": if info.kind == WasmKind::Component { "wasip2" } else { "wasip1" },
        "layerDigests": [layer.to_string()],
    });
    if info.kind == WasmKind::Component {
        config["component"] = json!({"imports": info.imports, "exports": info.exports});
    }
    let config = Bytes::from(serde_json::to_vec(&config).expect("JSON"));
    let config_digest = client
        .push_blob(&repo, config.clone())
        .await
        .map_err(explain)?;
    let title = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::WASM_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": media_type::WASM_LAYER, "digest": layer.to_string(), "size": data.len(),
                    "annotations": {"org.opencontainers.image.title": title}}],
    });
    let digest = client
        .push_manifest(
            &repo,
            tag.as_str(),
            media_type::OCI_MANIFEST,
            Bytes::from(manifest.to_string()),
        )
        .await
        .map_err(explain)?;
    println!(
        "Pushed {} ({} bytes) as {digest}",
        args.reference,
        data.len()
    );
    Ok(())
}

pub async fn pull(args: PullArgs) -> Result<(), Failure> {
    let (base, repo, reference) =
        parse_reference(&args.reference, args.conn.plain_http).map_err(Failure::usage)?;
    let client = client(&base, args.conn.token).map_err(Failure::usage)?;
    ensure_reachable(&client, &base).await?;
    let explain = |e: wharf_client::ClientError| -> Failure { anyhow::anyhow!("{e}").into() };
    let (media, body) = client
        .get_manifest(&repo, &reference.to_string())
        .await
        .map_err(explain)?;
    let manifest = Manifest::parse(&body, Some(&media))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.reference))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == media_type::WASM_LAYER)
        .or_else(|| manifest.layers.first())
        .with_context(|| format!("{} has no layer to pull", args.reference))?;
    let progress = Progress::new();
    let bar = progress.bar(&args.reference, layer.size);
    let size = client
        .download_blob(&repo, &layer.digest, &args.output, |n| bar.set_position(n))
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    println!(
        "Pulled {} ({size} bytes, {}) to {}",
        args.reference,
        layer.digest,
        args.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_reference;

    #[test]
    fn references() {
        let (base, repo, r) = parse_reference("localhost:5000/ns/name:1.0.0", false).unwrap();
        assert_eq!(
            (base.as_str(), repo.as_str(), r.to_string().as_str()),
            ("http://localhost:5000", "ns/name", "1.0.0")
        );
        let (base, _, r) = parse_reference("reg.example/a/b", false).unwrap();
        assert_eq!(
            (base.as_str(), r.to_string().as_str()),
            ("https://reg.example", "latest")
        );
        assert!(parse_reference("noslash", false).is_err());
        let (base, _, _) = parse_reference("localhost.evil.example:5000/a/b:1", false).unwrap();
        assert_eq!(
            base, "https://localhost.evil.example:5000",
            "only the exact local names get http"
        );
        let (base, _, _) = parse_reference("127.0.0.1:5000/a/b:1", false).unwrap();
        assert_eq!(base, "http://127.0.0.1:5000");
        assert!(parse_reference("h/UPPER:1", false).is_err());
    }
}
