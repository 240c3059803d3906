//! The subcommands, one file each.

mod serve;

use clap::Subcommand;

use crate::exit;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the registry server.
    Serve(serve::ServeArgs),
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
    }
}
