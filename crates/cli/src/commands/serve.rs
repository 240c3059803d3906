//! `wharf serve`: loads the configuration (defaults < file < environment < flags) and runs the
//! registry until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use clap::Args;
use wharf_server::config::LogFormat;
use wharf_server::Config;

use super::Failure;
use crate::logging;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file [default: ./wharf.toml if it exists] [env: WHARF_CONFIG]
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:5000] [env: WHARF_LISTEN, or PORT]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Data directory for blobs and the SQLite database [default: ./wharf-data]
    /// [env: WHARF_DATA_DIR, REGISTRY_DATA_DIR, DATA_DIR]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
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
        let file = self
            .config
            .clone()
            .or_else(|| env("WHARF_CONFIG").map(PathBuf::from));
        let mut config = Config::from_file(file.as_deref())?;
        config.apply_env(env)?;
        if let Some(v) = &self.listen {
            config.listen = v.clone();
        }
        if let Some(v) = &self.data_dir {
            config.data_dir = v.clone();
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
