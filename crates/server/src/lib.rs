//! Wharf's HTTP server: configuration, application state, and one route module per surface.
//!
//! Layering: `router` wires the surfaces; each module under `routes` parses requests and answers
//! in its surface's own format; storage is reached only through the `wharf_storage` traits.

pub mod auth;
pub mod config;
pub mod middleware;
pub mod router;
pub mod routes;
pub mod services;
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
    if app.auth_configured().await? {
        let private = app.config.auth.is_private();
        tracing::info!(
            private,
            "tokens are configured: writes need a token with the right scope"
        );
    } else {
        tracing::warn!(
            "no token is configured: writes are accepted only from loopback clients \
             (set REGISTRY_ADMIN_TOKEN or run `wharf token create --scope admin`)"
        );
    }
    tracing::info!(address = %local, data_dir = %app.config.data_dir.display(), "wharf is ready");
    let service = router::router(AppState::new(app))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed")?;
    tracing::info!("wharf stopped");
    Ok(())
}
