//! `wharf publish`: from run.toml (namespace `[project].name`, package the component key,
//! version `[project].version`, artifact the component's path) or explicitly
//! (`wharf publish FILE --name ns:pkg --version X`).

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use wharf_client::PublishForm;

use super::Failure;
use crate::output::Progress;
use crate::project::{DepKind, Manifest};
use crate::registry::{self, RegistryArgs};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The .wasm file (default: the components of run.toml)
    file: Option<PathBuf>,
    /// Package name, `ns:name` (with FILE)
    #[arg(long)]
    name: Option<String>,
    /// Version (with FILE; default: [project].version)
    #[arg(long)]
    version: Option<String>,
    /// Only this component of run.toml
    #[arg(long)]
    component: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub async fn run(args: PublishArgs) -> Result<(), Failure> {
    let dir = std::env::current_dir().map_err(anyhow::Error::from)?;
    let manifest = if dir.join(Manifest::FILE).exists() {
        Some(Manifest::load(&dir).map_err(Failure::usage)?)
    } else {
        None
    };
    let project = manifest
        .as_ref()
        .map(|m| m.project.clone())
        .unwrap_or_default();
    let dependencies = json!(manifest
        .as_ref()
        .map(|m| m
            .requirements
            .iter()
            .filter(|r| r.kind == DepKind::Normal)
            .map(|r| json!({"name": r.name, "version": r.req.to_string(), "optional": false}))
            .collect::<Vec<_>>())
        .unwrap_or_default());
    let mut jobs: Vec<(PublishForm, PathBuf)> = Vec::new();
    let form = |name: String, version: String| PublishForm {
        name,
        version,
        description: project.description.clone(),
        license: project.license.clone(),
        repository: project.repository.clone(),
        dependencies: dependencies.clone(),
    };
    if let Some(file) = args.file {
        let name = args.name.ok_or_else(|| {
            Failure::usage(anyhow::anyhow!("publishing a FILE needs --name ns:pkg"))
        })?;
        let version = args.version.or(project.version.clone()).ok_or_else(|| {
            Failure::usage(anyhow::anyhow!(
                "publishing a FILE needs --version (or [project].version in run.toml)"
            ))
        })?;
        jobs.push((form(name, version), file));
    } else {
        let m = manifest.as_ref().ok_or_else(|| {
            Failure::usage(anyhow::anyhow!(
                "no run.toml here: pass FILE --name ns:pkg --version X"
            ))
        })?;
        let ns = project.name.clone().ok_or_else(|| {
            Failure::usage(anyhow::anyhow!(
                "run.toml needs [project] name (the namespace)"
            ))
        })?;
        let version = args
            .version
            .or(project.version.clone())
            .ok_or_else(|| Failure::usage(anyhow::anyhow!("run.toml needs [project] version")))?;
        let names: Vec<String> = match &args.component {
            Some(c) => vec![c.clone()],
            None => m.components.keys().cloned().collect(),
        };
        if names.is_empty() {
            return Err(Failure::usage(anyhow::anyhow!(
                "run.toml has no [components.<name>] to publish"
            )));
        }
        for c in names {
            let artifact = m.component_artifact(&c).ok_or_else(|| {
                Failure::usage(anyhow::anyhow!(
                    "component {c:?}: set `path` to its .wasm file in [components.{c}]"
                ))
            })?;
            jobs.push((form(format!("{ns}:{c}"), version.clone()), artifact));
        }
    }
    let client = registry::writer(&args.registry, manifest.as_ref()).map_err(Failure::usage)?;
    let progress = Progress::new();
    let mut published = Vec::new();
    for (form, path) in jobs {
        if !path.is_file() {
            return Err(anyhow::anyhow!(
                "{} does not exist (build the component first)",
                path.display()
            )
            .into());
        }
        let size = std::fs::metadata(&path).map_err(anyhow::Error::from)?.len();
        let bar = progress.bar(&format!("{}@{}", form.name, form.version), size);
        let bar2 = bar.clone();
        let result = client
            .publish(&form, &path, move |n| bar2.set_position(n))
            .await;
        bar.finish_and_clear();
        let meta = result.map_err(super::explain)?;
        if !args.json {
            println!(
                "Published {}@{} ({} bytes, sha256 {})",
                meta.name,
                meta.version,
                meta.size.unwrap_or(size),
                meta.sha256
            );
        }
        published.push(meta);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&published).expect("JSON")
        );
    }
    Ok(())
}
