//! The `wharf` binary: parses the command line, sets up logging, runs one command, and turns
//! failures into a plain message and an exit code.

mod commands;
mod logging;
mod output;
mod project;
mod registry;
mod resolve;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes, as documented in `wharf --help`.
pub mod exit {
    /// The command failed (a registry error, a network error, bad input).
    pub const FAILURE: u8 = 1;
    /// The command line or configuration is invalid.
    pub const USAGE: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version,
    about = "A registry for WebAssembly components and OCI artifacts",
    after_help = "Exit codes: 0 success; 1 failure (registry error, unreachable registry, failed verification); 2 invalid command line, configuration or run.toml.\n\nClient commands find the registry in --registry-url, WHARF_REGISTRY_URL (or RUN_REGISTRY_URL), run.toml [registry] url, then the last `wharf login`; the token in --token, WHARF_TOKEN (or RUN_AUTH_TOKEN), run.toml [registry] auth_token, then the stored credentials."
)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}
