//! The subcommands, one file each.

mod serve;
mod token;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use wharf_server::Config;

use crate::exit;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the registry server.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API tokens (run on the registry's machine, against its data).
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// Where the registry's configuration and data are: shared by the commands that open them.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Configuration file [default: ./wharf.toml if it exists] [env: WHARF_CONFIG]
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory for blobs and the SQLite database [default: ./wharf-data]
    /// [env: WHARF_DATA_DIR, REGISTRY_DATA_DIR, DATA_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

impl StoreArgs {
    /// The configuration: defaults < file < environment < these flags.
    pub fn load(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let file = self
            .config
            .clone()
            .or_else(|| env("WHARF_CONFIG").map(PathBuf::from));
        let mut config = Config::from_file(file.as_deref())?;
        config.apply_env(env)?;
        if let Some(v) = &self.data_dir {
            config.data_dir = v.clone();
        }
        Ok(config)
    }
}

/// A failed command: the error to print and the exit code.
pub struct Failure {
    pub error: anyhow::Error,
    pub code: u8,
}

impl Failure {
    pub fn usage(error: anyhow::Error) -> Self {
        Failure {
            error,
            code: exit::USAGE,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure {
            error,
            code: exit::FAILURE,
        }
    }
}

pub async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Token(cmd) => token::run(cmd).await,
    }
}
