//! `wharf login <url>`: reads a token from stdin (or a hidden prompt on a terminal) and stores
//! it for that registry in `~/.config/wharf/credentials.toml` (mode 0600).

use std::io::{BufRead, IsTerminal};

use clap::Args;

use super::Failure;
use crate::registry::{normalize, Credentials, StoredToken};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry URL, e.g. https://registry.example.com
    url: String,
}

pub async fn run(args: LoginArgs) -> Result<(), Failure> {
    let url = normalize(&args.url);
    url::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| Failure::usage(anyhow::anyhow!("{url:?} is not an http(s) URL")))?;
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Token for {url}: ")).map_err(anyhow::Error::from)?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(anyhow::Error::from)?;
        line
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage(anyhow::anyhow!("no token given")));
    }
    let mut creds = Credentials::load()?;
    creds.registries.insert(url.clone(), StoredToken { token });
    creds.default = Some(url.clone());
    let path = creds.save()?;
    println!(
        "Stored the token for {url} in {} (readable by you only)",
        path.display()
    );
    Ok(())
}
