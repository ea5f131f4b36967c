//! An export's upload, streamed chunk by chunk into a file of its own in `IMPORT_DIR`
//! (readable by the gateway's user only), so a gigabyte export never sits in memory. The
//! file is removed when its import ends; a gateway killed mid-import leaves it behind, and
//! the next gateway started on the machine removes it.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bytes::Buf;
use futures::{Stream, StreamExt};
use tempfile::NamedTempFile;

use crate::config::ImportSettings;
use crate::error::ApiError;

/// Name prefix of upload files; the gateway's process id follows, so left-overs of a
/// stopped process can be told from the uploads of a running one.
const PREFIX: &str = "upload-";

/// Receives `body` into a new file; 413 past `IMPORT_MAX_BYTES`, 408 when no chunk arrives
/// within `idle` (a stalled upload frees its connection), 422 for an empty body.
pub async fn receive(
    settings: &ImportSettings,
    idle: Duration,
    mut body: impl Stream<Item = Result<impl Buf, warp::Error>> + Unpin,
) -> Result<NamedTempFile, ApiError> {
    let file = create(&settings.dir)?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file.reopen().map_err(io)?);
    let mut received: u64 = 0;
    loop {
        let mut chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => {
                return Err(ApiError::RequestTimeout(format!(
                    "no part of the upload arrived for {} s; nothing was imported",
                    idle.as_secs()
                )))
            }
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|e| {
                ApiError::BadRequest(format!("the upload broke off ({e}); nothing was imported"))
            })?,
        };
        received += chunk.remaining() as u64;
        if received > settings.max_bytes {
            return Err(too_large(received, settings.max_bytes));
        }
        // Chunks are small (tens of KB): a blocking write to the local disk is brief.
        while chunk.has_remaining() {
            let part = chunk.chunk();
            writer.write_all(part).map_err(io)?;
            let n = part.len();
            chunk.advance(n);
        }
    }
    writer.flush().map_err(io)?;
    if received == 0 {
        return Err(ApiError::Unprocessable(
            "the body is empty: send the export file as the request body".into(),
        ));
    }
    Ok(file)
}

pub fn too_large(bytes: u64, max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the upload is {bytes} bytes or more; imports take at most {max} (IMPORT_MAX_BYTES)"
    ))
}

fn create(dir: &Path) -> Result<NamedTempFile, ApiError> {
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)
        .map_err(io)
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::Internal(format!("import upload file: {e}"))
}

/// Removes the upload files of processes that are no longer running.
pub fn remove_left_overs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(file = ?entry.path(), "removed an interrupted import's upload")
                }
                Err(e) => {
                    tracing::warn!(file = ?entry.path(), error = %e, "cannot remove an old upload")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path, max_bytes: u64) -> ImportSettings {
        ImportSettings {
            dir: dir.to_owned(),
            max_bytes,
            ..ImportSettings::default()
        }
    }

    fn body(
        chunks: &[&'static [u8]],
    ) -> impl Stream<Item = Result<&'static [u8], warp::Error>> + Unpin {
        futures::stream::iter(chunks.iter().map(|c| Ok(*c)).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn chunks_land_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = receive(
            &settings(dir.path(), 100),
            Duration::from_secs(1),
            body(&[b"<Health", b"Data/>"]),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(file.path()).unwrap(),
            "<HealthData/>"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by the owner only");
        }
        let path = file.path().to_owned();
        drop(file);
        assert!(!path.exists(), "removed when the import ends");
    }

    #[tokio::test]
    async fn too_large_and_empty_uploads_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = receive(
            &settings(dir.path(), 10),
            Duration::from_secs(1),
            body(&[b"0123456", b"789abc"]),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(_)), "{err}");
        let err = receive(&settings(dir.path(), 10), Duration::from_secs(1), body(&[]))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Unprocessable(_)), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn left_overs_of_stopped_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir
            .path()
            .join(format!("{PREFIX}{}-abc", std::process::id()));
        // Larger than any pid Linux hands out (pid_max is at most 2^22).
        let gone = dir.path().join(format!("{PREFIX}{}-abc", 1u32 << 30));
        let other = dir.path().join("notes.txt");
        for f in [&ours, &gone, &other] {
            std::fs::write(f, "x").unwrap();
        }
        remove_left_overs(dir.path());
        assert!(ours.exists() && other.exists());
        assert!(!gone.exists());
    }
}
