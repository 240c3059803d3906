//! Which registry a client command talks to, with which token, and where `wharf login` keeps
//! tokens (`~/.config/wharf/credentials.toml`, mode 0600).
//!
//! URL: `--registry-url`, then `WHARF_REGISTRY_URL` / `RUN_REGISTRY_URL`, then run.toml
//! `[registry].url`, then the registry of the last `wharf login`.
//! Token: `--token`, then `WHARF_TOKEN` / `RUN_AUTH_TOKEN`, then run.toml `[registry].auth_token`,
//! then the token stored for that URL.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};
use wharf_client::PackageClient;

use crate::project::Manifest;

/// The flags every registry command takes.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry URL, e.g. http://localhost:5000 [env: WHARF_REGISTRY_URL, RUN_REGISTRY_URL]
    #[arg(long, value_name = "URL", global = true)]
    pub registry_url: Option<String>,
    /// API token [env: WHARF_TOKEN, RUN_AUTH_TOKEN]
    #[arg(long, value_name = "TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// The registry `wharf login` last stored a token for.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub registries: BTreeMap<String, StoredToken>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredToken {
    pub token: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Credentials {
    pub fn path() -> anyhow::Result<PathBuf> {
        let base = match env("XDG_CONFIG_HOME") {
            Some(dir) => PathBuf::from(dir),
            None => {
                PathBuf::from(env("HOME").context("HOME is not set: cannot find ~/.config/wharf")?)
                    .join(".config")
            }
        };
        Ok(base.join("wharf").join("credentials.toml"))
    }

    pub fn load() -> anyhow::Result<Credentials> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the file readable by its owner only.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        let dir = path.parent().expect("has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = toml::to_string(self).expect("credentials serialize");
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        #[cfg(unix)]
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// Normalises a registry URL for matching stored tokens: no trailing slash.
pub fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// The registry URL and token for a command.
pub fn resolve(
    args: &RegistryArgs,
    manifest: Option<&Manifest>,
) -> anyhow::Result<(String, Option<String>)> {
    let stored = Credentials::load()?;
    let url = args
        .registry_url
        .clone()
        .or_else(|| env("WHARF_REGISTRY_URL"))
        .or_else(|| env("RUN_REGISTRY_URL"))
        .or_else(|| manifest.and_then(|m| m.registry.url.clone()))
        .or_else(|| stored.default.clone());
    let Some(url) = url.map(|u| normalize(&u)) else {
        bail!(
            "no registry configured: pass --registry-url, set WHARF_REGISTRY_URL, add [registry] url to run.toml, or run `wharf login <url>`"
        );
    };
    let token = args
        .token
        .clone()
        .or_else(|| env("WHARF_TOKEN"))
        .or_else(|| env("RUN_AUTH_TOKEN"))
        .or_else(|| manifest.and_then(|m| m.registry.auth_token.clone()))
        .or_else(|| stored.registries.get(&url).map(|t| t.token.clone()));
    Ok((url, token))
}

/// A package API client for the configured registry. When run.toml lists `[registry] mirrors`
/// and the registry does not answer, the first mirror that does is used instead.
pub async fn client(
    args: &RegistryArgs,
    manifest: Option<&Manifest>,
) -> anyhow::Result<PackageClient> {
    let (url, token) = resolve(args, manifest)?;
    let primary = PackageClient::new(&url, token)?;
    let mirrors = manifest
        .map(|m| m.registry.mirrors.clone())
        .unwrap_or_default();
    if mirrors.is_empty() || answers(&url).await {
        return Ok(primary);
    }
    for mirror in mirrors {
        let mirror = normalize(&mirror);
        if answers(&mirror).await {
            eprintln!("{url} does not answer; using the mirror {mirror} for reading");
            // A mirror gets only a token stored for it, never the registry's.
            let own = Credentials::load()?
                .registries
                .get(&mirror)
                .map(|t| t.token.clone());
            return Ok(PackageClient::new(&mirror, own)?);
        }
    }
    Ok(primary)
}

/// A package API client for publishing: the registry itself, never a mirror.
pub fn writer(args: &RegistryArgs, manifest: Option<&Manifest>) -> anyhow::Result<PackageClient> {
    let (url, token) = resolve(args, manifest)?;
    Ok(PackageClient::new(&url, token)?)
}

/// Whether `GET <url>/health` answers at all within a few seconds.
async fn answers(url: &str) -> bool {
    let probe = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .ok();
    match probe {
        Some(c) => c.get(format!("{url}/health")).send().await.is_ok(),
        None => false,
    }
}
