//! Application state: the configuration and the storage backends, shared by every handler.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use wharf_storage::{BlobStore, FsBlobStore, MetadataStore, SqliteMetadataStore};

use crate::Config;

/// Everything a request handler can reach.
pub struct App {
    pub config: Config,
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetadataStore>,
}

impl App {
    /// Opens the embedded backends under `config.data_dir`: blobs on the filesystem, metadata in
    /// SQLite.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let dir = &config.data_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        let blobs = FsBlobStore::open(dir.clone())
            .await
            .with_context(|| format!("cannot open blob store in {}", dir.display()))?;
        let db = dir.join("wharf.db");
        let meta = SqliteMetadataStore::open(&db)
            .await
            .with_context(|| format!("cannot open metadata database {}", db.display()))?;
        Ok(App {
            config,
            blobs: Arc::new(blobs),
            meta: Arc::new(meta),
        })
    }
}

impl App {
    /// The registry's public URL: the configured base URL, else `http://` and the request's
    /// Host. Every absolute URL the server hands out (download URLs, token realm, install
    /// instructions) comes from here.
    pub fn public_base(&self, headers: &axum::http::HeaderMap) -> String {
        if !self.config.base_url.is_empty() {
            return self.config.base_url.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// A cheap, cloneable handle on the [`App`], extracted by handlers.
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    pub fn new(app: App) -> Self {
        AppState(Arc::new(app))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
