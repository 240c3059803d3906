//! `wharf install [ns:pkg[@req]] [--dev] [--locked] [--offline]` and `wharf update [pkg]`:
//! resolve, download in parallel (verified before anything lands in the cache), place in
//! `.run/components`, and write `run.lock`.

use std::path::Path;

use anyhow::Context;
use clap::Args;
use futures_util::{stream, StreamExt, TryStreamExt};
use wharf_client::PackageClient;

use super::Failure;
use crate::output::Progress;
use crate::project::{DepKind, Layout, Lockfile, Manifest};
use crate::registry::{self, RegistryArgs};
use crate::resolve::{self, Resolved, Unlock};

/// Downloads at once.
const PARALLEL: usize = 4;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A package to add, `ns:name` or `ns:name@<requirement>` (a bare version means ^version)
    package: Option<String>,
    /// Add it to [dev-dependencies]
    #[arg(long)]
    dev: bool,
    /// Fail if run.lock does not already pin everything run.toml asks for
    #[arg(long)]
    locked: bool,
    /// Install from .run/cache only; no network
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Only this package (default: everything)
    package: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Splits `ns:name@req` at the last `@`.
fn split_spec(spec: &str) -> anyhow::Result<(String, Option<semver::VersionReq>)> {
    let (name, req) = match spec.rsplit_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (spec, None),
    };
    wharf_core::PackageName::parse(name)?;
    let req = req
        .map(|r| {
            semver::VersionReq::parse(r)
                .with_context(|| format!("{r:?} is not a version requirement"))
        })
        .transpose()?;
    Ok((name.to_owned(), req))
}

pub async fn install(args: InstallArgs) -> Result<(), Failure> {
    let dir = std::env::current_dir().map_err(anyhow::Error::from)?;
    if args.package.is_some() && !dir.join(Manifest::FILE).exists() {
        std::fs::write(dir.join(Manifest::FILE), "[dependencies]\n")
            .map_err(anyhow::Error::from)?;
    }
    let mut manifest = Manifest::load(&dir).map_err(Failure::usage)?;
    if args.offline {
        if args.package.is_some() {
            return Err(Failure::usage(anyhow::anyhow!(
                "--offline installs what run.lock pins; it cannot add a package"
            )));
        }
        return install_offline(&dir, &manifest, Lockfile::load(&dir)?.as_ref()).await;
    }
    let lock = load_lock(&dir, args.locked)?;
    let client = registry::client(&args.registry, Some(&manifest))
        .await
        .map_err(Failure::usage)?;
    let added = if let Some(spec) = &args.package {
        if args.locked {
            return Err(Failure::usage(anyhow::anyhow!(
                "--locked cannot add a package; edit run.toml and run.lock together"
            )));
        }
        let (name, req) = split_spec(spec).map_err(Failure::usage)?;
        let req_text = match req {
            Some(r) => r.to_string(),
            None => {
                let versions = client.versions(&name).await.map_err(super::explain)?;
                let newest = versions
                    .last()
                    .with_context(|| format!("{name} has no installable version"))?;
                format!("^{newest}")
            }
        };
        let kind = if args.dev {
            DepKind::Dev
        } else {
            DepKind::Normal
        };
        manifest.set_dependency(kind, &name, &req_text)?;
        Some((name, req_text))
    } else {
        None
    };
    run_install(
        &dir,
        &manifest,
        &client,
        lock.as_ref(),
        &Unlock::Nothing,
        args.locked,
    )
    .await?;
    // run.toml changes only once the install succeeded.
    if let Some((name, req_text)) = added {
        manifest.save()?;
        eprintln!(
            "Added {name} = \"{req_text}\" to {}",
            manifest.path.display()
        );
    }
    Ok(())
}

pub async fn update(args: UpdateArgs) -> Result<(), Failure> {
    let dir = std::env::current_dir().map_err(anyhow::Error::from)?;
    let manifest = Manifest::load(&dir).map_err(Failure::usage)?;
    let lock = load_lock(&dir, false)?;
    let client = registry::client(&args.registry, Some(&manifest))
        .await
        .map_err(Failure::usage)?;
    let unlock = match args.package {
        Some(p) => {
            if !manifest.requirements.iter().any(|r| r.name == p)
                && lock.as_ref().and_then(|l| l.get(&p)).is_none()
            {
                return Err(anyhow::anyhow!("{p} is not a dependency of this project").into());
            }
            Unlock::One(p)
        }
        None => Unlock::All,
    };
    run_install(&dir, &manifest, &client, lock.as_ref(), &unlock, false).await
}

async fn run_install(
    dir: &Path,
    manifest: &Manifest,
    client: &PackageClient,
    lock: Option<&Lockfile>,
    unlock: &Unlock,
    locked: bool,
) -> Result<(), Failure> {
    let resolved = resolve::resolve(client, &manifest.requirements, lock, unlock, locked)
        .await
        .map_err(explain_any)?;
    let layout = Layout::new(dir);
    let progress = Progress::new();
    let fetched: Vec<bool> = stream::iter(
        resolved
            .iter()
            .map(|r| fetch(client, &layout, &progress, r)),
    )
    .buffer_unordered(PARALLEL)
    .try_collect()
    .await?;
    for r in &resolved {
        place(&layout, &r.meta.name, &r.meta.version)?;
    }
    remove_stale_components(&layout, &resolved)?;
    let new_lock = Lockfile {
        entries: resolved.iter().map(Resolved::lock_entry).collect(),
    };
    if locked && lock != Some(&new_lock) {
        return Err(anyhow::anyhow!("run.lock is out of date with run.toml (--locked)").into());
    }
    for r in &resolved {
        let before = lock
            .and_then(|l| l.get(&r.meta.name))
            .map(|e| e.version.as_str());
        match before {
            Some(v) if v != r.meta.version => {
                println!("Updated {} {v} -> {}", r.meta.name, r.meta.version)
            }
            Some(_) => {}
            None => println!("Installed {}@{}", r.meta.name, r.meta.version),
        }
    }
    new_lock.save(dir)?;
    let downloaded = fetched.iter().filter(|f| **f).count();
    let n = resolved.len();
    println!(
        "{n} package{} locked in run.lock ({downloaded} downloaded, {} from the cache)",
        if n == 1 { "" } else { "s" },
        n - downloaded
    );
    Ok(())
}

/// Whether a file holds content with this SHA-256.
pub fn has_sha256(path: &Path, sha256: &str) -> anyhow::Result<Option<bool>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut hasher = wharf_core::Hasher::new(wharf_core::Algorithm::Sha256);
    loop {
        let buf = std::io::BufRead::fill_buf(&mut reader)?;
        if buf.is_empty() {
            break;
        }
        hasher.update(buf);
        let n = buf.len();
        std::io::BufRead::consume(&mut reader, n);
    }
    Ok(Some(hasher.finish().hex().eq_ignore_ascii_case(sha256)))
}

/// Ensures the cache holds a verified copy; true when it had to be downloaded.
async fn fetch(
    client: &PackageClient,
    layout: &Layout,
    progress: &Progress,
    r: &Resolved,
) -> Result<bool, Failure> {
    let path = layout.cached(&r.meta.name, &r.meta.version);
    if has_sha256(&path, &r.meta.sha256)? == Some(true) {
        return Ok(false);
    }
    let bar = progress.bar(
        &format!("{}@{}", r.meta.name, r.meta.version),
        r.meta.size.unwrap_or(0),
    );
    let done = client
        .download(&r.meta, &path, |n| bar.set_position(n))
        .await;
    bar.finish_and_clear();
    done.map_err(super::explain)?;
    Ok(true)
}

/// Reads run.lock. A damaged one is reported and then ignored (it is about to be rewritten),
/// except under `--locked`, which needs it.
fn load_lock(dir: &Path, locked: bool) -> Result<Option<Lockfile>, Failure> {
    match Lockfile::load(dir) {
        Ok(lock) => Ok(lock),
        Err(e) if !locked => {
            eprintln!("warning: {e:#}; resolving afresh");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes component files of versions no longer locked (after an update).
fn remove_stale_components(layout: &Layout, resolved: &[Resolved]) -> anyhow::Result<()> {
    let keep: std::collections::HashSet<_> = resolved
        .iter()
        .map(|r| layout.installed(&r.meta.name, &r.meta.version))
        .collect();
    let Some(dir) = keep
        .iter()
        .next()
        .and_then(|p| p.parent().map(Path::to_owned))
    else {
        return Ok(());
    };
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") && !keep.contains(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Copies a cached artifact into `.run/components`.
fn place(layout: &Layout, name: &str, version: &str) -> anyhow::Result<()> {
    let from = layout.cached(name, version);
    let to = layout.installed(name, version);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(&from, &to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

async fn install_offline(
    dir: &Path,
    manifest: &Manifest,
    lock: Option<&Lockfile>,
) -> Result<(), Failure> {
    let Some(lock) = lock else {
        return Err(
            anyhow::anyhow!("--offline needs a run.lock: run `wharf install` online once").into(),
        );
    };
    for req in &manifest.requirements {
        let ok = lock
            .get(&req.name)
            .is_some_and(|e| semver::Version::parse(&e.version).is_ok_and(|v| req.req.matches(&v)));
        if !ok {
            return Err(anyhow::anyhow!(
                "run.lock does not satisfy {} {}; --offline cannot resolve it",
                req.name,
                req.req
            )
            .into());
        }
    }
    let layout = Layout::new(dir);
    for e in &lock.entries {
        let cached = layout.cached(&e.name, &e.version);
        match has_sha256(&cached, &e.sha256)? {
            Some(true) => place(&layout, &e.name, &e.version)?,
            Some(false) => bail_failure(format!(
                "{}@{} in the cache is corrupted; run `wharf install` online to repair it",
                e.name, e.version
            ))?,
            None => bail_failure(format!(
                "{}@{} is not in the cache ({}); run `wharf install` online",
                e.name,
                e.version,
                cached.display()
            ))?,
        }
    }
    println!("{} packages installed from the cache", lock.entries.len());
    Ok(())
}

fn bail_failure(message: String) -> Result<(), Failure> {
    Err(anyhow::anyhow!(message).into())
}

/// Resolution errors carry client errors inside anyhow; explain those that have advice.
fn explain_any(e: anyhow::Error) -> Failure {
    match e.downcast::<wharf_client::ClientError>() {
        Ok(client) => super::explain(client),
        Err(other) => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::split_spec;

    #[test]
    fn specs_split_at_the_last_at() {
        let (n, r) = split_spec("acme:x@1.2.0").unwrap();
        assert_eq!(n, "acme:x");
        assert_eq!(r.unwrap().to_string(), "^1.2.0");
        assert_eq!(split_spec("acme:x").unwrap().1, None);
        assert!(split_spec("acme:x@nope").is_err());
        assert!(split_spec("Bad@1").is_err());
    }
}
