//! Dependency resolution: for each requirement the highest matching non-yanked version, or the
//! locked one while it still matches; transitive dependencies from package metadata.

use std::collections::{BTreeMap, VecDeque};

use anyhow::{bail, Context};
use wharf_client::{PackageClient, PackageMeta};

use crate::project::manifest::Requirement;
use crate::project::{LockEntry, Lockfile};

/// Which locked versions may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// Keep every locked version that still satisfies its requirement.
    Nothing,
    /// `update`: pick the newest matching version of everything.
    All,
    /// `update <pkg>`: only this package.
    One(String),
}

impl Unlock {
    fn covers(&self, name: &str) -> bool {
        match self {
            Unlock::Nothing => false,
            Unlock::All => true,
            Unlock::One(n) => n == name,
        }
    }
}

/// A resolved package.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub meta: PackageMeta,
    pub dependencies: Vec<String>,
}

impl Resolved {
    pub fn lock_entry(&self) -> LockEntry {
        LockEntry {
            name: self.meta.name.clone(),
            version: self.meta.version.clone(),
            sha256: self.meta.sha256.to_lowercase(),
            dependencies: self.dependencies.clone(),
        }
    }
}

/// Resolves `roots` and their dependencies. With `locked_only`, nothing outside the lockfile may
/// be chosen (`--locked`).
pub async fn resolve(
    client: &PackageClient,
    roots: &[Requirement],
    lock: Option<&Lockfile>,
    unlock: &Unlock,
    locked_only: bool,
) -> anyhow::Result<Vec<Resolved>> {
    let mut queue: VecDeque<(String, semver::VersionReq, String)> = roots
        .iter()
        .map(|r| (r.name.clone(), r.req.clone(), "run.toml".to_owned()))
        .collect();
    let mut resolved: BTreeMap<String, Resolved> = BTreeMap::new();
    let mut rounds = 0usize;
    while let Some((name, req, wanted_by)) = queue.pop_front() {
        rounds += 1;
        if rounds > 10_000 {
            bail!("dependency graph too large (over 10000 edges)");
        }
        if let Some(r) = resolved.get(&name) {
            let chosen = semver::Version::parse(&r.meta.version)?;
            if !req.matches(&chosen) {
                bail!("{wanted_by} needs {name} {req}, but {name}@{chosen} was chosen for another dependent");
            }
            continue;
        }
        let locked = lock
            .and_then(|l| l.get(&name))
            .filter(|e| semver::Version::parse(&e.version).is_ok_and(|v| req.matches(&v)))
            .filter(|_| !unlock.covers(&name));
        let meta = match locked {
            Some(entry) => {
                let meta = client.meta(&name, &entry.version).await?;
                if !meta.sha256.eq_ignore_ascii_case(&entry.sha256) {
                    bail!(
                        "{name}@{} on the registry (sha256 {}) differs from run.lock (sha256 {}): refusing to install it",
                        entry.version, meta.sha256, entry.sha256
                    );
                }
                meta
            }
            None if locked_only => bail!(
                "run.lock does not satisfy {name} {req} (wanted by {wanted_by}); run `wharf install` without --locked to update it"
            ),
            None => {
                let versions = client.versions(&name).await.with_context(|| format!("resolving {name} {req}"))?;
                let Some(best) = versions.iter().rev().find(|v| req.matches(v)) else {
                    let known: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
                    bail!("no version of {name} matches {req} (wanted by {wanted_by}); available: {}", if known.is_empty() { "none".into() } else { known.join(", ") });
                };
                client.meta(&name, &best.to_string()).await?
            }
        };
        let mut dependencies = Vec::new();
        for dep in meta.dependencies.iter().filter(|d| !d.optional) {
            let dep_req = semver::VersionReq::parse(&dep.version).with_context(|| {
                format!(
                    "{name}@{} declares a bad requirement {:?} for {}",
                    meta.version, dep.version, dep.name
                )
            })?;
            dependencies.push(dep.name.clone());
            queue.push_back((
                dep.name.clone(),
                dep_req,
                format!("{name}@{}", meta.version),
            ));
        }
        dependencies.sort();
        dependencies.dedup();
        resolved.insert(name, Resolved { meta, dependencies });
    }
    Ok(resolved.into_values().collect())
}
