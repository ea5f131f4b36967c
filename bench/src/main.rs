//! `healthpipe-bench`: see `healthpipe-bench --help` and `scripts/bench`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = healthpipe_bench::BenchArgs::parse();
    init_logs();
    match healthpipe_bench::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthpipe-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Plain-text logs on stderr, filtered by `RUST_LOG` (default `warn`: the bench prints its
/// own progress).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
}
