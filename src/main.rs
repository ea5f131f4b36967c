//! `healthpipe`: one binary, one subcommand per service. See `healthpipe --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = healthpipe::cli::Cli::parse();
    healthpipe::telemetry::init(cli.log_format());
    match healthpipe::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthpipe: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
