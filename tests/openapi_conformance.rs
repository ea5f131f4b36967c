//! The gateway against its own OpenAPI document (`gateway/openapi.json`, served at
//! `/api/v1/openapi.json`): schemathesis (pinned in tests/clients/requirements.txt, installed by
//! tests/clients/install) generates valid and invalid requests for every operation and checks
//! every answer: no 5xx, status codes, content types, headers and bodies as documented, auth
//! enforced, invalid data refused, valid data accepted, 405 with `Allow` for other methods;
//! its stateful phase then chains operations through the document's links. Deviations from schemathesis' defaults are in `gateway/schemathesis.toml`, each with its reason.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{repo_root, Pipeline};
use serde_json::{json, Value};

/// Test cases per operation and phase: enough to hit every documented status, bounded in time.
const MAX_EXAMPLES: &str = "25";
/// A run that takes longer than this is a failure (schemathesis would be stuck).
const RUN_TIMEOUT: Duration = Duration::from_secs(540);

fn schemathesis() -> PathBuf {
    let bin = std::env::var("HEALTHPIPE_PYTHON")
        .map(PathBuf::from)
        .ok()
        .and_then(|python| python.parent().map(|dir| dir.join("schemathesis")))
        .unwrap_or_else(|| repo_root().join(".stack/tools/venv/bin/schemathesis"));
    assert!(
        bin.exists(),
        "{} is missing: run `bash tests/clients/install` (scripts/test does)",
        bin.display()
    );
    bin
}

/// Runs schemathesis against `base` with `token`; `extra` selects operations. Returns whether
/// it passed and what it printed.
async fn run_schemathesis(base: &str, token: &str, extra: &[&str]) -> (bool, String) {
    let root = repo_root();
    let seed = std::env::var("HEALTHPIPE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20260504".into());
    let mut command = tokio::process::Command::new(schemathesis());
    command
        .current_dir(&root)
        .arg("--no-color")
        .arg("--config-file")
        .arg(root.join("gateway/schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--url", base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        // One worker: schemathesis' generator hits a CPython 3.11 bug ("AST constructor
        // recursion depth mismatch") when two threads describe strategies at once.
        .args(["--workers", "1"])
        // Argon2id is slow by design, much slower in a debug build on a busy 2-core machine:
        // time limits that judge correctness, not speed.
        .args(["--request-timeout", "90"])
        .args(["--max-response-time", "60"])
        .arg("--generation-database=none")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("schemathesis starts");
    let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {RUN_TIMEOUT:?}"))
        .expect("schemathesis output");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_conforms_to_its_openapi_document() {
    let pipeline = Pipeline::start().await;
    let user = pipeline.new_user("Europe/Berlin").await;
    // Signed in before the run: its failed sign-ins get this address rate limited.
    let other = pipeline.new_user("UTC").await;
    let phone = user.device("iphone", "conformance-phone").await;
    // Something to aggregate and explain.
    let response = user
        .post(
            &format!("/api/v1/devices/{phone}/sync"),
            json!({"samples": [{"type": "STEPS", "value": 500, "unit": "count",
                "start_date": "2026-05-04T08:00:00Z", "end_date": "2026-05-04T08:30:00Z"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);

    // The document served is the one in the repository.
    let served: Value = pipeline
        .http
        .get(pipeline.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("gateway/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(served, kept);

    // Signing out revokes the token the run uses, so it runs apart, with a token of its own.
    let (passed, output) = run_schemathesis(
        &pipeline.base_url,
        &user.token,
        &[
            "--exclude-operation-id",
            "deleteSession",
            // Uploads of export files: random bytes of any media type are what they take
            // (each then fails as an import, in the background); tests/imports.rs checks
            // their answers.
            "--exclude-operation-id",
            "importAppleHealth",
            "--exclude-operation-id",
            "importFitbit",
            "--exclude-operation-id",
            "importGoogleFit",
            "--exclude-operation-id",
            "importWithings",
            "--exclude-operation-id",
            "importIHealth",
        ],
    )
    .await;
    assert!(passed, "schemathesis found problems:\n{output}");
    // The closing line counts failures and errors, if any ("1 failure, 2 errors in 40 s").
    let summary = output
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && l.starts_with('='))
        .unwrap_or_default();
    assert!(
        !summary.contains("failure") && !summary.contains("error"),
        "schemathesis output:\n{output}"
    );
    // The stateful phase ran, chaining operations through the document's links (a device
    // registered, then changed and synced to; an insight listed, then acknowledged).
    let scenarios: u32 = output
        .lines()
        .skip_while(|l| !l.contains("Stateful (in"))
        .find_map(|l| l.trim().strip_prefix("Scenarios:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        scenarios > 0,
        "the stateful phase ran no scenario:\n{output}"
    );

    // Alone, signing out has no link to follow: no stateful phase.
    let (passed, output) = run_schemathesis(
        &pipeline.base_url,
        &other.token,
        &[
            "--include-operation-id",
            "deleteSession",
            "--phases",
            "examples,coverage,fuzzing",
        ],
    )
    .await;
    assert!(passed, "schemathesis found problems:\n{output}");
    // The run signed that session out: its token is dead now.
    assert_eq!(other.get("/api/v1/me").await.status(), 401);
}
