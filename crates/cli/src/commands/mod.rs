//! The subcommands, one file each.

mod info;
mod install;
mod login;
mod oci;
mod publish;
mod serve;
mod token;
mod verify;

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
    /// Publish components: those of run.toml, or FILE --name ns:pkg --version X.
    Publish(publish::PublishArgs),
    /// Install run.toml's dependencies (or add one) and write run.lock.
    Install(install::InstallArgs),
    /// Move dependencies (or one) to the newest versions run.toml allows.
    Update(install::UpdateArgs),
    /// Check run.lock and every cached artifact against its SHA-256.
    Verify(verify::VerifyArgs),
    /// Show a package's metadata.
    Info(info::InfoArgs),
    /// Search packages by name, description and WIT interface names.
    Search(info::SearchArgs),
    /// Store a token for a registry (read from stdin, or prompted for).
    Login(login::LoginArgs),
    /// Push a Wasm file as an OCI artifact: `wharf push localhost:5000/ns/name:1.0.0 app.wasm`.
    Push(oci::PushArgs),
    /// Pull a Wasm OCI artifact to a file.
    Pull(oci::PullArgs),
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

    /// A failure whose details the command already printed; the error is a summary.
    pub fn quiet(error: anyhow::Error) -> Self {
        Failure {
            error,
            code: exit::FAILURE,
        }
    }
}

/// A registry error in plain words, with what to do about it.
pub fn explain(e: wharf_client::ClientError) -> Failure {
    use wharf_client::ClientError as E;
    let advice = match &e {
        E::Api { status: 401, .. } => Some("the registry needs a valid token: run `wharf login <url>`, or pass --token / set WHARF_TOKEN"),
        E::Api { status: 403, .. } => Some("this token may not do that here (a push:<namespace> token only publishes in its namespace)"),
        E::Api { status: 409, .. } => Some("that version is already published and versions are immutable: bump the version"),
        E::Api { status: 413, .. } => Some("the artifact is larger than the registry accepts (REGISTRY_MAX_UPLOAD_MB on the server)"),
        E::RateLimited { .. } => Some("the registry limits requests per minute: wait and try again"),
        E::Unreachable { .. } => Some("check the URL (--registry-url, WHARF_REGISTRY_URL, run.toml [registry] url) and that the registry runs"),
        E::DigestMismatch { .. } => Some("the download does not match its published SHA-256; nothing was installed"),
        _ => None,
    };
    let error = match advice {
        Some(a) => anyhow::anyhow!("{e}\n  hint: {a}"),
        None => anyhow::Error::from(e),
    };
    Failure {
        error,
        code: exit::FAILURE,
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
        Command::Publish(args) => publish::run(args).await,
        Command::Install(args) => install::install(args).await,
        Command::Update(args) => install::update(args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Info(args) => info::info(args).await,
        Command::Search(args) => info::search(args).await,
        Command::Login(args) => login::run(args).await,
        Command::Push(args) => oci::push(args).await,
        Command::Pull(args) => oci::pull(args).await,
    }
}
