//! The workload, the same for every registry: big pushes (monolithic and chunked), a big pull,
//! concurrent small reads (1 MiB blob GET, manifest GET by tag, blob HEAD) and many small
//! sequential pushes. Each figure comes with the server CPU it cost, read from /proc.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::{Client, StatusCode, Url};
use wharf_core::Digest;

use crate::servers::Running;

const MIB: f64 = 1024.0 * 1024.0;

/// How big the workload is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub blob_mib: usize,
    pub chunk_mib: usize,
    pub small_pushes: usize,
    pub load_secs: f64,
    pub concurrency: usize,
}

/// One measured figure.
pub type Metric = (String, f64);

/// Big random-ish content, with a per-use prefix so every push is a new digest.
pub fn payload(mib: usize, salt: u64) -> (Bytes, Digest) {
    let mut data = vec![0u8; mib << 20];
    let mut x = 0x9e3779b97f4a7c15u64 ^ salt;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let digest = Digest::sha256(&data);
    (Bytes::from(data), digest)
}

fn location(base: &str, res: &reqwest::Response) -> anyhow::Result<Url> {
    let loc = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("no Location header")?;
    Ok(Url::parse(base)?.join(loc)?)
}

fn with_digest(mut url: Url, digest: &Digest) -> Url {
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    url
}

async fn start_upload(http: &Client, base: &str, repo: &str) -> anyhow::Result<Url> {
    let res = http
        .post(format!("{base}/v2/{repo}/blobs/uploads/"))
        .header("content-length", "0")
        .send()
        .await?;
    if res.status() != StatusCode::ACCEPTED {
        bail!("POST upload answered {}", res.status());
    }
    location(base, &res)
}

/// POST, then PUT with the whole body.
pub async fn push_monolithic(
    http: &Client,
    base: &str,
    repo: &str,
    data: Bytes,
    digest: &Digest,
) -> anyhow::Result<()> {
    let url = start_upload(http, base, repo).await?;
    let res = http
        .put(with_digest(url, digest))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await?;
    if res.status() != StatusCode::CREATED {
        bail!("PUT blob answered {}", res.status());
    }
    Ok(())
}

async fn push_chunked(
    http: &Client,
    base: &str,
    repo: &str,
    data: &Bytes,
    digest: &Digest,
    chunk: usize,
) -> anyhow::Result<()> {
    let mut url = start_upload(http, base, repo).await?;
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        let res = http
            .patch(url.clone())
            .header("content-type", "application/octet-stream")
            .header("content-range", format!("{offset}-{}", end - 1))
            .header("content-length", (end - offset).to_string())
            .body(data.slice(offset..end))
            .send()
            .await?;
        if res.status() != StatusCode::ACCEPTED {
            bail!("PATCH answered {}", res.status());
        }
        url = location(base, &res)?;
        offset = end;
    }
    let res = http
        .put(with_digest(url, digest))
        .header("content-length", "0")
        .send()
        .await?;
    if res.status() != StatusCode::CREATED {
        bail!("closing PUT answered {}", res.status());
    }
    Ok(())
}

async fn pull(http: &Client, base: &str, repo: &str, digest: &Digest) -> anyhow::Result<u64> {
    let res = http
        .get(format!("{base}/v2/{repo}/blobs/{digest}"))
        .send()
        .await?;
    if res.status() != StatusCode::OK {
        bail!("GET blob answered {}", res.status());
    }
    let mut body = res.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        n += chunk?.len() as u64;
    }
    Ok(n)
}

async fn put_manifest(
    http: &Client,
    base: &str,
    repo: &str,
    tag: &str,
    config: &Digest,
    layer: &Digest,
    layer_size: usize,
) -> anyhow::Result<()> {
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]}}"#
    );
    let res = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(body)
        .send()
        .await?;
    if res.status() != StatusCode::CREATED {
        bail!("PUT manifest answered {}", res.status());
    }
    Ok(())
}

/// Times `f`, and the server CPU it cost.
async fn measured<T>(
    srv: &Running,
    f: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, f64, f64)> {
    let cpu = srv.cpu_seconds();
    let started = Instant::now();
    let out = f.await?;
    let secs = started.elapsed().as_secs_f64();
    Ok((out, secs, srv.cpu_seconds() - cpu))
}

/// Many concurrent requests for `secs`: (requests/s, p50 ms, p99 ms, server CPU µs/request).
async fn load(
    srv: &Running,
    http: &Client,
    sizes: Sizes,
    method: reqwest::Method,
    url: String,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs_f64(sizes.load_secs);
    let cpu = srv.cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..sizes.concurrency {
        let (http, url, method) = (http.clone(), url.clone(), method.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                // distribution 2.8 hides OCI manifests from clients that do not accept them.
                let res = http
                    .request(method.clone(), &url)
                    .header("accept", "application/vnd.oci.image.manifest.v1+json")
                    .send()
                    .await?;
                let ok = res.status() == StatusCode::OK;
                let _ = res.bytes().await?;
                if !ok {
                    bail!("{method} {url} failed");
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = srv.cpu_seconds() - cpu;
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let n = all.len().max(1) as f64;
    Ok((all.len() as f64 / secs, pct(0.50), pct(0.99), cpu / n * 1e6))
}

/// Runs the whole workload against one registry. `round` salts the content.
pub async fn run(srv: &Running, sizes: Sizes, round: u64) -> anyhow::Result<Vec<Metric>> {
    let http = Client::builder()
        .pool_max_idle_per_host(sizes.concurrency)
        .build()?;
    let base = srv.base.as_str();
    let gib = sizes.blob_mib as f64 / 1024.0;
    let mut m: Vec<Metric> = Vec::new();

    let (data, digest) = payload(sizes.blob_mib, round * 3 + 1);
    let (_, secs, cpu) = measured(
        srv,
        push_monolithic(&http, base, "bench/big", data, &digest),
    )
    .await?;
    m.push(("push_mono_mib_s".into(), sizes.blob_mib as f64 / secs));
    m.push(("push_mono_cpu_s_per_gib".into(), cpu / gib));

    let (data2, digest2) = payload(sizes.blob_mib, round * 3 + 2);
    let (_, secs, cpu) = measured(
        srv,
        push_chunked(
            &http,
            base,
            "bench/big",
            &data2,
            &digest2,
            sizes.chunk_mib << 20,
        ),
    )
    .await?;
    m.push(("push_chunked_mib_s".into(), sizes.blob_mib as f64 / secs));
    m.push(("push_chunked_cpu_s_per_gib".into(), cpu / gib));
    drop(data2);

    let (bytes, secs, cpu) = measured(srv, pull(&http, base, "bench/big", &digest)).await?;
    anyhow::ensure!(bytes as usize == sizes.blob_mib << 20, "short pull");
    m.push(("pull_mib_s".into(), bytes as f64 / MIB / secs));
    m.push(("pull_cpu_s_per_gib".into(), cpu / gib));

    // Small reads under concurrency.
    let (layer, layer_digest) = payload(1, round * 3 + 3);
    push_monolithic(&http, base, "bench/small", layer, &layer_digest).await?;
    let config = Digest::sha256(b"{}");
    push_monolithic(
        &http,
        base,
        "bench/small",
        Bytes::from_static(b"{}"),
        &config,
    )
    .await?;
    put_manifest(
        &http,
        base,
        "bench/small",
        "bench",
        &config,
        &layer_digest,
        1 << 20,
    )
    .await?;
    for (name, method, url) in [
        (
            "get_1mib",
            reqwest::Method::GET,
            format!("{base}/v2/bench/small/blobs/{layer_digest}"),
        ),
        (
            "manifest_get",
            reqwest::Method::GET,
            format!("{base}/v2/bench/small/manifests/bench"),
        ),
        (
            "blob_head",
            reqwest::Method::HEAD,
            format!("{base}/v2/bench/small/blobs/{layer_digest}"),
        ),
    ] {
        let (rps, p50, p99, cpu_us) = load(srv, &http, sizes, method, url).await?;
        for (suffix, value) in [
            ("rps", rps),
            ("p50_ms", p50),
            ("p99_ms", p99),
            ("cpu_us", cpu_us),
        ] {
            m.push((format!("{name}_{suffix}"), value));
        }
    }

    // Many small pushes, one after another: a 4 KiB blob and a manifest each.
    let n = sizes.small_pushes;
    let pushes = async {
        for i in 0..n {
            let blob = Bytes::from(format!("{round}-{i}-").repeat(4096 / 8).into_bytes());
            let d = Digest::sha256(&blob);
            let len = blob.len();
            push_monolithic(&http, base, "bench/many", blob, &d).await?;
            put_manifest(
                &http,
                base,
                "bench/many",
                &format!("t{i}"),
                &config,
                &d,
                len,
            )
            .await?;
        }
        Ok(())
    };
    push_monolithic(
        &http,
        base,
        "bench/many",
        Bytes::from_static(b"{}"),
        &config,
    )
    .await?;
    let (_, secs, cpu) = measured(srv, pushes).await?;
    m.push(("small_push_ms".into(), secs * 1e3 / n as f64));
    m.push(("small_push_cpu_ms".into(), cpu * 1e3 / n as f64));
    Ok(m)
}
