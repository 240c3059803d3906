//! `wharf info ns:pkg[@version]` and `wharf search <query>`: package metadata and search, as
//! text or `--json`.

use clap::Args;

use super::Failure;
use crate::project::Manifest;
use crate::registry::{self, RegistryArgs};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// `ns:name` (newest version) or `ns:name@version`
    package: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for in names, descriptions and WIT interface names
    query: String,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// run.toml of the current directory, if there is one (a broken one is an error, not ignored).
fn manifest_here() -> Result<Option<Manifest>, Failure> {
    let dir = std::env::current_dir().map_err(anyhow::Error::from)?;
    if !dir.join(Manifest::FILE).exists() {
        return Ok(None);
    }
    Manifest::load(&dir).map(Some).map_err(Failure::usage)
}

pub async fn info(args: InfoArgs) -> Result<(), Failure> {
    let manifest = manifest_here()?;
    let client = registry::client(&args.registry, manifest.as_ref())
        .await
        .map_err(Failure::usage)?;
    let (name, version) = match args.package.rsplit_once('@') {
        Some((n, v)) => (n.to_owned(), v.to_owned()),
        None => {
            let versions = client
                .versions(&args.package)
                .await
                .map_err(super::explain)?;
            let newest = versions
                .last()
                .ok_or_else(|| anyhow::anyhow!("{} has no installable version", args.package))?;
            (args.package.clone(), newest.to_string())
        }
    };
    let meta = client.meta(&name, &version).await.map_err(super::explain)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&meta).expect("JSON"));
        return Ok(());
    }
    println!("Package:      {}", meta.name);
    println!(
        "Version:      {}{}",
        meta.version,
        if meta.yanked { " (yanked)" } else { "" }
    );
    println!("Description:  {}", meta.description);
    println!("License:      {}", meta.license.as_deref().unwrap_or("-"));
    println!(
        "Repository:   {}",
        meta.repository.as_deref().unwrap_or("-")
    );
    println!(
        "Size:         {} bytes",
        meta.size.map_or("-".into(), |s| s.to_string())
    );
    println!("SHA-256:      {}", meta.sha256);
    println!("Downloads:    {}", meta.downloads);
    let deps: Vec<String> = meta
        .dependencies
        .iter()
        .map(|d| format!("{} {}", d.name, d.version))
        .collect();
    println!(
        "Dependencies: {}",
        if deps.is_empty() {
            "-".into()
        } else {
            deps.join(", ")
        }
    );
    println!(
        "Imports:      {}",
        if meta.imports.is_empty() {
            "-".into()
        } else {
            meta.imports.join(", ")
        }
    );
    println!(
        "Exports:      {}",
        if meta.exports.is_empty() {
            "-".into()
        } else {
            meta.exports.join(", ")
        }
    );
    Ok(())
}

pub async fn search(args: SearchArgs) -> Result<(), Failure> {
    let manifest = manifest_here()?;
    let client = registry::client(&args.registry, manifest.as_ref())
        .await
        .map_err(Failure::usage)?;
    let found = client
        .search(&args.query, args.limit, args.offset)
        .await
        .map_err(super::explain)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found).expect("JSON"));
        return Ok(());
    }
    if found.packages.is_empty() {
        println!("No package matches {:?}", args.query);
        return Ok(());
    }
    let width = found
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:<width$}  {:<10}  DESCRIPTION", "NAME", "VERSION");
    for p in &found.packages {
        println!("{:<width$}  {:<10}  {}", p.name, p.version, p.description);
    }
    if found.total > found.packages.len() as u64 {
        println!(
            "({} of {} shown; use --offset and --limit for more)",
            found.packages.len(),
            found.total
        );
    }
    Ok(())
}
