//! Prints what an Apple Health export would import:
//! `cargo run -p healthpipe-importer --example summarize -- path/to/export.xml [--json]`.
//! With `--json`, prints the registration and sync bodies instead of the summary.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use healthpipe_importer::import_apple_health;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: summarize <export.xml> [--json]");
        return ExitCode::FAILURE;
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match import_apple_health(BufReader::new(file)) {
        Ok(import) if args.iter().any(|a| a == "--json") => {
            for device in &import.devices {
                println!(
                    "{}",
                    serde_json::to_string(device.registration()).expect("serialisable")
                );
                for body in device.sync_bodies(healthpipe_importer::MAX_SAMPLES_PER_SYNC) {
                    println!("{}", serde_json::to_string(&body).expect("serialisable"));
                }
            }
            ExitCode::SUCCESS
        }
        Ok(import) => {
            print!("{import}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
