//! Wharf's HTTP server: configuration, application state, and one route module per surface.
//!
//! Layering: `router` wires the surfaces; each module under `routes` parses requests and answers
//! in its surface's own format; storage is reached only through the `wharf_storage` traits.

pub mod config;
pub mod middleware;
pub mod router;
pub mod routes;
pub mod state;

pub use config::Config;
pub use state::{App, AppState};

use std::future::Future;

use anyhow::Context;

/// Opens the configured storage, binds the listener and serves until `shutdown` completes;
/// requests in flight are allowed to finish.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listen = config.listen.clone();
    let app = App::open(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, data_dir = %app.config.data_dir.display(), "wharf is ready");
    axum::serve(listener, router::router(AppState::new(app)))
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed")?;
    tracing::info!("wharf stopped");
    Ok(())
}
