//! `healthpipe providers add`: the operator makes (or verifies again) a clinician's account.
//! Sign-up makes user accounts only.

use anyhow::{Context, Result};
use healthpipe_gateway::providers::{self, NewProvider};

#[derive(Debug, Clone, clap::Args)]
pub struct ProvidersAddArgs {
    /// The clinician's email: the address share grants are made out to.
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// The practice, hospital or lab the clinician works for.
    #[arg(long)]
    pub organisation: String,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true,
          value_parser = healthpipe_config::database_url)]
    pub database_url: String,
}

/// Prints the account id and, for a new account, its password (shown this once).
pub async fn add(args: ProvidersAddArgs) -> Result<()> {
    let db = healthpipe_storage::connect(&args.database_url, 1)?;
    let provider = NewProvider {
        email: args.email,
        name: args.name,
        organisation: args.organisation,
    };
    let added = providers::add(&db, &provider)
        .await
        .context("adding the provider")?;
    match added.password {
        Some(password) => {
            println!("provider account {} made for {}", added.id, provider.email);
            println!("password (shown once; hand it over securely): {password}");
        }
        None => println!(
            "provider account {} verified again, organisation {:?}",
            added.id, provider.organisation
        ),
    }
    Ok(())
}
