//! The object store under `ARCHIVE_URL`.
//!
//! - `file:///abs/dir`: local files (the folder is made if missing). A put writes a staged
//!   file beside the target and renames it, fsynced, so a file is there whole or not at all.
//! - `s3://bucket/prefix`: Amazon S3 or a compatible store, configured by the usual `AWS_*`
//!   variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
//!   ...). A single PUT is atomic: an object is visible whole or not at all.
//!
//! Paths handed to and returned by the store are relative to the URL (the manifest stores
//! them so), so an archive can be copied elsewhere and pointed at.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::ArchiveError;

/// Where the archive's files are, and how to reach them.
#[derive(Debug, Clone)]
pub struct ArchiveStore {
    store: Arc<dyn ObjectStore>,
}

/// The kind of store a URL names, checked without touching it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Local(std::path::PathBuf),
    S3 { bucket_url: String, prefix: Path },
}

fn target(url: &str) -> Result<Target, ArchiveError> {
    let parsed = Url::parse(url).map_err(|e| ArchiveError::Url(format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "file" => parsed
            .to_file_path()
            .map(Target::Local)
            .map_err(|()| ArchiveError::Url("a file URL needs an absolute path".into())),
        "s3" => {
            let bucket = parsed
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| ArchiveError::Url("an s3 URL needs a bucket".into()))?;
            let prefix = Path::parse(parsed.path().trim_matches('/'))
                .map_err(|e| ArchiveError::Url(format!("bad prefix ({e})")))?;
            Ok(Target::S3 {
                bucket_url: format!("s3://{bucket}"),
                prefix,
            })
        }
        other => Err(ArchiveError::Url(format!(
            "scheme {other:?} is not supported (file:// or s3://)"
        ))),
    }
}

impl ArchiveStore {
    /// Checks that `url` names a usable store, without creating or contacting anything (for
    /// a dry run).
    pub fn check(url: &str) -> Result<(), ArchiveError> {
        target(url).map(|_| ())
    }

    /// Opens the store `url` names; a local folder is made if missing.
    pub fn open(url: &str) -> Result<ArchiveStore, ArchiveError> {
        let store: Arc<dyn ObjectStore> = match target(url)? {
            Target::Local(dir) => {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| ArchiveError::Url(format!("cannot make the folder ({e})")))?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(&dir)?
                        .with_fsync(true)
                        .with_automatic_cleanup(true),
                )
            }
            Target::S3 { bucket_url, prefix } => {
                let s3 = AmazonS3Builder::from_env().with_url(bucket_url).build()?;
                Arc::new(PrefixStore::new(s3, prefix))
            }
        };
        Ok(ArchiveStore { store })
    }

    /// The store itself, for readers that take one.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// Writes `bytes` to `path` in one request: the object appears whole or not at all.
    pub async fn put(&self, path: &Path, bytes: Bytes) -> Result<(), ArchiveError> {
        self.store.put(path, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Every object under `prefix` (a partition's folder), in no particular order.
    pub async fn list(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, ArchiveError> {
        Ok(self.store.list(Some(prefix)).try_collect().await?)
    }

    /// Deletes `path`; one already gone is no error (a run that stopped halfway may have
    /// deleted it).
    pub async fn delete(&self, path: &Path) -> Result<(), ArchiveError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_local_folder_or_a_bucket_and_prefix() {
        assert_eq!(
            target("file:///var/lib/archive").unwrap(),
            Target::Local("/var/lib/archive".into())
        );
        assert_eq!(
            target("s3://cold-bucket/healthpipe/prod/").unwrap(),
            Target::S3 {
                bucket_url: "s3://cold-bucket".into(),
                prefix: Path::from("healthpipe/prod"),
            }
        );
        for bad in [
            "relative/dir",
            "memory:///",
            "https://example.org/x",
            "s3:///x",
        ] {
            assert!(target(bad).is_err(), "{bad} accepted");
        }
    }
}
