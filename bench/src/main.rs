//! `wharf-bench`: runs one workload against Wharf and the peer registries found on this machine,
//! alternating them round by round, and reports medians, ratios to each peer and to the
//! machine's limits, as a table on stdout and as JSON + Markdown files.

mod limits;
mod servers;
mod workloads;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::json;

use servers::Kind;
use workloads::Sizes;

#[derive(Debug, Parser)]
#[command(about = "Benchmark Wharf side by side with peer registries")]
struct Args {
    /// The wharf binary (build it with --release for real figures)
    #[arg(long, default_value = "target/release/wharf")]
    wharf: PathBuf,
    /// CNCF distribution 2.8 (`docker-registry` from Debian)
    #[arg(long)]
    distribution_2_8: Option<PathBuf>,
    /// CNCF distribution v3 (`registry`, from go install)
    #[arg(long)]
    distribution_v3: Option<PathBuf>,
    /// Rounds; every registry runs once per round, in alternating order
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Small sizes and one round: checks the harness, not the speed
    #[arg(long)]
    smoke: bool,
    /// Where to write results.json and results.md
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Whether a larger value of this metric is better.
fn higher_is_better(metric: &str) -> bool {
    metric.ends_with("_mib_s") || metric.ends_with("_rps")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sizes = if args.smoke {
        Sizes {
            blob_mib: 4,
            chunk_mib: 1,
            small_pushes: 20,
            load_secs: 0.5,
            concurrency: 8,
        }
    } else {
        Sizes {
            blob_mib: 256,
            chunk_mib: 8,
            small_pushes: 1000,
            load_secs: 5.0,
            concurrency: 64,
        }
    };
    let rounds = if args.smoke { 1 } else { args.rounds.max(1) };
    let mut kinds = vec![Kind::wharf(args.wharf.clone())];
    if let Some(p) = &args.distribution_2_8 {
        kinds.push(Kind::distribution("distribution-2.8", p.clone()));
    }
    if let Some(p) = &args.distribution_v3 {
        kinds.push(Kind::distribution("distribution-v3", p.clone()));
    }

    let limit_mib = if args.smoke { 64 } else { 1024 };
    let sha = limits::sha256_mib_s(limit_mib);
    let loopback = limits::loopback_mib_s(limit_mib).await?;
    eprintln!("machine: SHA-256 {sha:.0} MiB/s, loopback TCP {loopback:.0} MiB/s (one stream)");

    let work = std::env::temp_dir().join(format!("wharf-bench-{}", std::process::id()));
    let mut samples: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for round in 0..rounds {
        let order: Vec<&Kind> = if round % 2 == 0 {
            kinds.iter().collect()
        } else {
            kinds.iter().rev().collect()
        };
        for kind in order {
            let dir = work.join(format!("{}-{round}", kind.name));
            let port = free_port()?;
            let srv = kind
                .start(&dir, port)
                .await
                .with_context(|| format!("starting {}", kind.name))?;
            tokio::time::sleep(Duration::from_millis(if args.smoke { 100 } else { 1000 })).await;
            let idle = srv.memory().0;
            eprintln!(
                "round {}: {} (started in {:.1} ms)",
                round + 1,
                kind.name,
                srv.startup.as_secs_f64() * 1e3
            );
            let metrics = workloads::run(&srv, sizes, round as u64)
                .await
                .with_context(|| format!("benchmarking {}", kind.name))?;
            let peak = srv.memory().1;
            let entry = samples.entry(kind.name.clone()).or_default();
            for (name, value) in metrics {
                entry.entry(name).or_default().push(value);
            }
            entry
                .entry("startup_ms".into())
                .or_default()
                .push(srv.startup.as_secs_f64() * 1e3);
            entry
                .entry("rss_idle_mib".into())
                .or_default()
                .push(idle as f64 / 1048576.0);
            entry
                .entry("rss_peak_mib".into())
                .or_default()
                .push(peak as f64 / 1048576.0);
            drop(srv);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let _ = std::fs::remove_dir_all(&work);

    let medians: BTreeMap<String, BTreeMap<String, f64>> = samples
        .iter()
        .map(|(k, m)| {
            (
                k.clone(),
                m.iter()
                    .map(|(n, v)| (n.clone(), median(v.clone())))
                    .collect(),
            )
        })
        .collect();
    let names: Vec<String> = kinds.iter().map(|k| k.name.clone()).collect();
    let metrics: Vec<String> = medians["wharf"].keys().cloned().collect();
    let peers: Vec<&String> = names.iter().filter(|n| *n != "wharf").collect();

    let mut header = vec!["metric".to_owned()];
    header.extend(names.iter().cloned());
    header.extend(peers.iter().map(|p| format!("wharf vs {p}")));
    header.push("share of machine limit".into());
    let mut rows = Vec::new();
    for metric in &metrics {
        let w = medians["wharf"][metric];
        let mut row = vec![metric.clone()];
        row.extend(
            names
                .iter()
                .map(|n| format!("{:.2}", medians[n].get(metric).copied().unwrap_or(f64::NAN))),
        );
        for p in &peers {
            let v = medians[*p].get(metric).copied().unwrap_or(f64::NAN);
            // Ratios read as "times better": above 1 means Wharf wins.
            let better = if higher_is_better(metric) {
                w / v
            } else {
                v / w
            };
            row.push(format!("{better:.2}x"));
        }
        let limit = match metric.as_str() {
            "pull_mib_s" | "push_mono_mib_s" | "push_chunked_mib_s" => {
                format!("{:.0}% of loopback", w / loopback * 100.0)
            }
            _ => String::new(),
        };
        row.push(limit);
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        r.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(&header));
    for r in &rows {
        println!("{}", line(r));
    }

    std::fs::create_dir_all(&args.out)?;
    let report = json!({
        "smoke": args.smoke,
        "rounds": rounds,
        "sizes": {"blob_mib": sizes.blob_mib, "chunk_mib": sizes.chunk_mib, "small_pushes": sizes.small_pushes,
                  "load_secs": sizes.load_secs, "concurrency": sizes.concurrency},
        "machine": {"sha256_mib_s": sha, "loopback_mib_s": loopback, "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
        "medians": medians,
        "samples": samples,
    });
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    let mut md = format!(
        "| {} |\n|{}|\n",
        header.join(" | "),
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in &rows {
        md.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    md.push_str(&format!(
        "\nMachine: SHA-256 {sha:.0} MiB/s, single-stream loopback TCP {loopback:.0} MiB/s.\n"
    ));
    std::fs::write(args.out.join("results.md"), md)?;
    eprintln!(
        "wrote {} and results.md",
        args.out.join("results.json").display()
    );
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
