//! `wharf serve`: loads the configuration (defaults < file < environment < flags) and runs the
//! registry until SIGTERM or Ctrl-C.

use clap::Args;
use wharf_server::config::LogFormat;
use wharf_server::Config;

use super::{Failure, StoreArgs};
use crate::logging;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on [default: 0.0.0.0:5000] [env: WHARF_LISTEN, or PORT]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Public URL of the registry [env: WHARF_BASE_URL, REGISTRY_URL, BASE_URL]
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Log level or filter: error, warn, info, debug, trace [default: info] [env: WHARF_LOG_LEVEL]
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log format: text or json [default: text] [env: WHARF_LOG_FORMAT]
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

impl ServeArgs {
    /// Builds the effective configuration from the file, the environment and these flags.
    fn config(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let mut config = self.store.load(env)?;
        if let Some(v) = &self.listen {
            config.listen = v.clone();
        }
        if let Some(v) = &self.base_url {
            config.base_url = v.clone();
        }
        if let Some(v) = &self.log_level {
            config.log.level = v.clone();
        }
        if let Some(v) = self.log_format {
            config.log.format = v;
        }
        Ok(config)
    }
}

pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = args
        .config(|name| std::env::var(name).ok())
        .map_err(Failure::usage)?;
    logging::init(&config.log).map_err(Failure::usage)?;
    wharf_server::serve(config, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
