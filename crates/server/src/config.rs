//! The typed configuration, merged as: defaults < `wharf.toml` < environment < command-line flags.
//!
//! Every field has a default and appears in the committed `wharf.example.toml`; a test keeps the
//! two in step.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, `host:port`.
    pub listen: String,
    /// Directory holding blobs (`blobs/`, `uploads/`) and the SQLite database (`wharf.db`).
    pub data_dir: PathBuf,
    /// Public URL of this registry, used where an absolute URL is needed. Empty: derived from
    /// the request.
    pub base_url: String,
    pub log: LogConfig,
    pub limits: Limits,
    pub auth: AuthConfig,
    pub files: FilesConfig,
}

/// The Simplism-compatible file registry (`/registry/...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// The repository whose tags are the files: `hello.wasm` is `<repository>:hello.wasm`.
    pub repository: String,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            repository: "files".into(),
        }
    }
}

/// A secret from the configuration: never shown by `Debug` (so never in logs).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// Tokens from the configuration (more can be created with `wharf token create`, stored hashed).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Tokens with the `admin` scope.
    pub admin_tokens: Vec<Secret>,
    /// `namespace:token` pairs: each token gets `push:<namespace>`.
    pub namespace_tokens: Vec<Secret>,
    /// Tokens with the `pull` scope. Any of them makes the registry private.
    pub pull_tokens: Vec<Secret>,
    /// Reads need a token.
    pub private: bool,
}

impl AuthConfig {
    /// Reads need credentials.
    pub fn is_private(&self) -> bool {
        self.private || !self.pull_tokens.is_empty()
    }

    /// Whether any token is configured here (the database may hold more).
    pub fn has_tokens(&self) -> bool {
        !(self.admin_tokens.is_empty()
            && self.namespace_tokens.is_empty()
            && self.pull_tokens.is_empty())
    }

    /// The `namespace_tokens` split into (namespace, token).
    pub fn namespace_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.namespace_tokens
            .iter()
            .filter_map(|s| s.expose().split_once(':'))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter such as `wharf=debug`.
    pub level: String,
    /// `text` (readable on a terminal) or `json`.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest manifest accepted, in bytes (the spec asks for at least 4 MiB); larger is 413.
    pub max_manifest_bytes: u64,
    /// Largest blob accepted, in bytes; 0 means no limit. Larger is 413.
    pub max_blob_bytes: u64,
    /// Largest file or package upload (`/registry/push`, `/api/v1/packages`), in bytes; larger
    /// is 413.
    pub max_upload_bytes: u64,
    /// Requests per minute one client address may make to the package API and the file
    /// registry; past it, 429 with Retry-After. 0 means no limit.
    pub rate_limit_per_min: u32,
    /// An upload whose client sends nothing for this many seconds is cut off (400), so a stalled
    /// client cannot hold its upload session.
    pub body_idle_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "0.0.0.0:5000".into(),
            data_dir: PathBuf::from("./wharf-data"),
            base_url: String::new(),
            log: LogConfig::default(),
            limits: Limits::default(),
            auth: AuthConfig::default(),
            files: FilesConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: wharf_core::manifest::DEFAULT_MAX_MANIFEST_BYTES as u64,
            max_blob_bytes: 0,
            max_upload_bytes: 50 * 1024 * 1024,
            rate_limit_per_min: 0,
            body_idle_timeout_secs: 60,
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format must be text or json, not {other:?}")),
        }
    }
}

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "wharf.toml";

impl Config {
    /// Reads a config file. An explicitly named file must exist; the default one is optional.
    pub fn from_file(path: Option<&Path>) -> anyhow::Result<Config> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default())
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text)
            .with_context(|| format!("invalid configuration in {}", path.display()))
    }

    /// Applies environment variables: `WHARF_*`, and the seed projects' names as aliases
    /// (`PORT`, `REGISTRY_DATA_DIR`, `DATA_DIR`, `REGISTRY_URL`, `BASE_URL`).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let first = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.is_empty()));
        if let Some(v) = first(&["WHARF_LISTEN"]) {
            self.listen = v;
        } else if let Some(port) = first(&["PORT"]) {
            let port: u16 = port
                .parse()
                .with_context(|| format!("PORT={port:?} is not a port number"))?;
            self.listen = format!("0.0.0.0:{port}");
        }
        if let Some(v) = first(&["WHARF_DATA_DIR", "REGISTRY_DATA_DIR", "DATA_DIR"]) {
            self.data_dir = v.into();
        }
        if let Some(v) = first(&["WHARF_BASE_URL", "REGISTRY_URL", "BASE_URL"]) {
            self.base_url = v;
        }
        if let Some(v) = first(&["WHARF_LOG_LEVEL"]) {
            self.log.level = v;
        }
        if let Some(v) = first(&["WHARF_LOG_FORMAT"]) {
            self.log.format = v.parse().map_err(anyhow::Error::msg)?;
        }
        let bytes = |name: &str, v: String| -> anyhow::Result<u64> {
            v.parse()
                .with_context(|| format!("{name}={v:?} is not a number of bytes"))
        };
        if let Some(v) = first(&["WHARF_MAX_MANIFEST_BYTES"]) {
            self.limits.max_manifest_bytes = bytes("WHARF_MAX_MANIFEST_BYTES", v)?;
        }
        if let Some(v) = first(&["WHARF_MAX_BLOB_BYTES"]) {
            self.limits.max_blob_bytes = bytes("WHARF_MAX_BLOB_BYTES", v)?;
        }
        if let Some(v) = first(&["WHARF_BODY_IDLE_TIMEOUT_SECS"]) {
            self.limits.body_idle_timeout_secs = v.parse().with_context(|| {
                format!("WHARF_BODY_IDLE_TIMEOUT_SECS={v:?} is not a number of seconds")
            })?;
        }
        if let Some(v) = first(&[
            "WHARF_MAX_UPLOAD_MB",
            "REGISTRY_MAX_UPLOAD_MB",
            "MAX_UPLOAD_MB",
        ]) {
            let mb: u64 = v
                .parse()
                .with_context(|| format!("max upload size {v:?} is not a number of MiB"))?;
            self.limits.max_upload_bytes = mb.saturating_mul(1024 * 1024);
        }
        if let Some(v) = first(&["WHARF_RATE_LIMIT_PER_MIN", "REGISTRY_RATE_LIMIT_PER_MIN"]) {
            self.limits.rate_limit_per_min = v.parse().with_context(|| {
                format!("rate limit {v:?} is not a number of requests per minute")
            })?;
        }
        if let Some(v) = first(&["WHARF_FILES_REPOSITORY"]) {
            self.files.repository = v;
        }
        for name in ["REGISTRY_ADMIN_TOKEN", "ADMIN_REGISTRY_TOKEN"] {
            if let Some(v) = first(&[name]) {
                self.auth.admin_tokens.push(Secret::new(v));
            }
        }
        if let Some(v) = first(&["REGISTRY_TOKENS"]) {
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                self.auth.namespace_tokens.push(Secret::new(pair));
            }
        }
        if let Some(v) = first(&["PRIVATE_REGISTRY_TOKEN"]) {
            self.auth.pull_tokens.push(Secret::new(v));
        }
        if let Some(v) = first(&["WHARF_PRIVATE"]) {
            self.auth.private = matches!(v.as_str(), "1" | "true" | "yes");
        }
        self.validate()
    }

    /// Checks what serde cannot: `namespace:token` pairs, the files repository name.
    pub fn validate(&self) -> anyhow::Result<()> {
        wharf_core::RepoName::parse(&self.files.repository).with_context(|| {
            format!(
                "files.repository {:?} is not a repository name",
                self.files.repository
            )
        })?;
        for pair in &self.auth.namespace_tokens {
            match pair.expose().split_once(':') {
                Some((ns, tok)) if wharf_core::auth::valid_namespace(ns) && !tok.is_empty() => {}
                _ => anyhow::bail!(
                    "namespace tokens must be <namespace>:<token> with a lowercase namespace \
                     (REGISTRY_TOKENS=acme:secret,other:secret2)"
                ),
            }
        }
        Ok(())
    }

    /// How long an upload may go without receiving data (at least one second).
    pub fn body_idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.limits.body_idle_timeout_secs.max(1))
    }

    /// The blob size limit, if any.
    pub fn blob_limit(&self) -> Option<u64> {
        (self.limits.max_blob_bytes > 0).then_some(self.limits.max_blob_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// Every key path of a TOML table, e.g. `limits.max_blob_bytes`.
    fn keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in table {
            let path = format!("{prefix}{k}");
            match v {
                toml::Value::Table(t) => keys(t, &format!("{path}."), out),
                _ => out.push(path),
            }
        }
    }

    #[test]
    fn example_config_documents_every_option() {
        let example_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wharf.example.toml");
        let text = std::fs::read_to_string(&example_path).expect("wharf.example.toml exists");
        // Parses with deny_unknown_fields: no stale option survives in the example.
        let parsed: Config = toml::from_str(&text).expect("example parses as a Config");
        assert_eq!(parsed, Config::default(), "the example shows the defaults");
        let example: toml::Table = toml::from_str(&text).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let (mut want, mut have) = (Vec::new(), Vec::new());
        keys(&defaults, "", &mut want);
        keys(&example, "", &mut have);
        for key in want {
            assert!(
                have.contains(&key),
                "wharf.example.toml does not document `{key}`"
            );
        }
    }

    #[test]
    fn env_overrides_file_and_aliases_apply() {
        let mut c = Config::default();
        c.apply_env(env_of(&[
            ("PORT", "8080"),
            ("DATA_DIR", "/d"),
            ("REGISTRY_URL", "http://r"),
        ]))
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:8080");
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.base_url, "http://r");

        let mut c = Config::default();
        c.apply_env(env_of(&[
            ("PORT", "8080"),
            ("WHARF_LISTEN", "127.0.0.1:9"),
            ("WHARF_DATA_DIR", "/w"),
            ("DATA_DIR", "/d"),
            ("WHARF_LOG_FORMAT", "json"),
            ("WHARF_MAX_BLOB_BYTES", "10"),
        ]))
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.data_dir, PathBuf::from("/w"));
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.blob_limit(), Some(10));
    }

    #[test]
    fn seed_token_variables_configure_auth() {
        let mut c = Config::default();
        c.apply_env(env_of(&[
            ("REGISTRY_ADMIN_TOKEN", "s3cr3t-a"),
            ("ADMIN_REGISTRY_TOKEN", "s3cr3t-b"),
            ("REGISTRY_TOKENS", "acme:s3cr3t-c, other:s3cr3t:d"),
            ("PRIVATE_REGISTRY_TOKEN", "s3cr3t-e"),
        ]))
        .unwrap();
        assert_eq!(
            c.auth.admin_tokens,
            [Secret::new("s3cr3t-a"), Secret::new("s3cr3t-b")]
        );
        let pairs: Vec<_> = c.auth.namespace_pairs().collect();
        assert_eq!(pairs, [("acme", "s3cr3t-c"), ("other", "s3cr3t:d")]);
        assert!(c.auth.is_private());
        assert!(c.auth.has_tokens());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t"),
            "a secret leaked into Debug: {shown}"
        );
        let mut bad = Config::default();
        assert!(bad
            .apply_env(env_of(&[("REGISTRY_TOKENS", "no-colon")]))
            .is_err());
        assert!(bad
            .apply_env(env_of(&[("REGISTRY_TOKENS", "Upper:t")]))
            .is_err());
    }

    #[test]
    fn bad_env_values_are_reported() {
        let mut c = Config::default();
        let err = c.apply_env(env_of(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("PORT"));
        assert!(c.apply_env(env_of(&[("WHARF_LOG_FORMAT", "xml")])).is_err());
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<Config>("lissten = \"x\"").is_err());
        let c: Config = toml::from_str("[limits]\nmax_blob_bytes = 5").unwrap();
        assert_eq!(c.blob_limit(), Some(5));
        assert_eq!(c.listen, "0.0.0.0:5000");
    }
}
