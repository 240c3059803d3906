//! `wharf verify`: checks run.lock's checksum, then every locked artifact in `.run/cache`
//! against its SHA-256. One line per entry (OK, MISSING, CORRUPTED); exit 1 on any failure.

use clap::Args;
use serde_json::json;

use super::install::has_sha256;
use super::Failure;
use crate::project::{Layout, Lockfile};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let dir = std::env::current_dir().map_err(anyhow::Error::from)?;
    let Some(lock) = Lockfile::load(&dir)? else {
        return Err(anyhow::anyhow!("no run.lock here: run `wharf install` first").into());
    };
    let layout = Layout::new(&dir);
    let mut results = Vec::new();
    let mut failed = 0;
    let mut entries = lock.entries.clone();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for e in &entries {
        let status = match has_sha256(&layout.cached(&e.name, &e.version), &e.sha256)? {
            Some(true) => "OK",
            Some(false) => "CORRUPTED",
            None => "MISSING",
        };
        if status != "OK" {
            failed += 1;
        }
        results.push((e, status));
    }
    if args.json {
        let all: Vec<_> = results
            .iter()
            .map(|(e, s)| json!({"name": e.name, "version": e.version, "sha256": e.sha256, "status": s}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all).expect("JSON"));
    } else {
        for (e, status) in &results {
            println!("{status:<9} {}@{}", e.name, e.version);
        }
    }
    if failed > 0 {
        return Err(Failure::quiet(anyhow::anyhow!(
            "{failed} of {} locked packages failed verification; `wharf install` repairs the cache",
            results.len()
        )));
    }
    Ok(())
}
