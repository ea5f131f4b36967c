//! FHIR Bundles checked by an outside implementation: `tests/clients/fhir_validate.py`
//! (fhir.resources' R4B models, installed by tests/clients/install).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::repo_root;

/// The Python of the test clients' virtual environment.
pub fn python() -> PathBuf {
    let python = std::env::var_os("HEALTHPIPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".stack/tools/venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run `bash tests/clients/install` (scripts/test does)",
        python.display()
    );
    python
}

/// Validates a Bundle (JSON bytes); the validator's complaint if it is not valid R4.
pub fn validate_bundle(bundle: &[u8]) -> Result<(), String> {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/clients/fhir_validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the validator starts");
    child.stdin.take().unwrap().write_all(bundle).unwrap();
    let validated = child.wait_with_output().unwrap();
    match validated.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&validated.stderr).into_owned()),
    }
}
