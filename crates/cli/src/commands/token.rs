//! `wharf token create|list|revoke`: manage the API tokens stored (hashed) in the registry's
//! metadata database. The secret is printed once, at creation.

use clap::{Args, Subcommand};
use serde_json::json;
use wharf_core::auth::Scope;
use wharf_server::App;
use wharf_storage::TokenRecord;

use super::{Failure, StoreArgs};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once).
    Create(CreateArgs),
    /// List tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token by id.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// admin, pull, or push:<namespace>; repeat for several
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    scopes: Vec<Scope>,
    /// A name to recognise the token by
    #[arg(long, default_value = "token")]
    name: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The token's id, as `wharf token list` shows it
    id: String,
}

async fn open(store: &StoreArgs) -> Result<App, Failure> {
    let config = store
        .load(|name| std::env::var(name).ok())
        .map_err(Failure::usage)?;
    Ok(App::open(config).await?)
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(Scope::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn when(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn token_json(t: &TokenRecord) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes.iter().map(Scope::to_string).collect::<Vec<_>>(),
        "created": when(t.created_at),
        "revoked": t.revoked_at.map(when),
    })
}

pub async fn run(cmd: TokenCommand) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Create(args) => {
            let app = open(&args.store).await?;
            let (record, secret) = app
                .create_token(&args.name, args.scopes)
                .await
                .map_err(anyhow::Error::from)?;
            if args.json {
                let mut v = token_json(&record);
                v["token"] = json!(secret);
                println!("{v}");
            } else {
                eprintln!(
                    "Created token {} ({}) with scopes: {}. Store it now: it is not shown again.",
                    record.id,
                    record.name,
                    scopes_text(&record.scopes)
                );
                println!("{secret}");
            }
        }
        TokenCommand::List(args) => {
            let app = open(&args.store).await?;
            let tokens = app.meta.list_tokens().await.map_err(anyhow::Error::from)?;
            if args.json {
                let all: Vec<_> = tokens.iter().map(token_json).collect();
                println!("{}", serde_json::Value::Array(all));
            } else if tokens.is_empty() {
                println!("No tokens. Create one with: wharf token create --scope admin");
            } else {
                println!(
                    "{:<12}  {:<20}  {:<30}  {:<20}  STATUS",
                    "ID", "NAME", "SCOPES", "CREATED"
                );
                for t in &tokens {
                    let status = match t.revoked_at {
                        Some(at) => format!("revoked {}", when(at)),
                        None => "active".to_owned(),
                    };
                    println!(
                        "{:<12}  {:<20}  {:<30}  {:<20}  {status}",
                        t.id,
                        t.name,
                        scopes_text(&t.scopes),
                        when(t.created_at)
                    );
                }
            }
        }
        TokenCommand::Revoke(args) => {
            let app = open(&args.store).await?;
            if !app
                .meta
                .revoke_token(&args.id)
                .await
                .map_err(anyhow::Error::from)?
            {
                return Err(anyhow::anyhow!(
                    "no active token with id {:?} (see `wharf token list`)",
                    args.id
                )
                .into());
            }
            println!("Revoked token {}", args.id);
        }
    }
    Ok(())
}
