//! Opening an import's file: the file itself, or the export inside a zip archive (Apple
//! Health's `export.zip`), read through a counter so progress can say how far it got in
//! bytes of the file.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Read buffer of the parser's input.
const BUFFER_BYTES: usize = 256 * 1024;

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
    #[error("the zip archive cannot be read: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error(
        "the zip archive holds no export (an .xml file such as apple_health_export/export.xml)"
    )]
    NoExportInZip,
}

/// The bytes of the file read so far, shared with whoever reports progress.
#[derive(Debug, Clone, Default)]
pub struct BytesRead(Arc<AtomicU64>);

impl BytesRead {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Hands `read` the input of `path` for a connector: the export inside when it is a zip
/// archive (by its first bytes, whatever its name), else the file itself. `bytes_read`
/// follows the position in the file (compressed bytes for an archive), so it ends at the
/// file's size.
pub fn read<T>(
    path: &Path,
    bytes_read: &BytesRead,
    read: impl FnOnce(Box<dyn BufRead + Send + '_>) -> T,
) -> Result<T, InputError> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    bytes_read.0.store(0, Ordering::Relaxed);
    let counted = Counted {
        inner: file,
        position: bytes_read.0.clone(),
    };
    if n == 4 && magic == *b"PK\x03\x04" {
        let mut archive = zip::ZipArchive::new(counted)?;
        let index = export_entry(&mut archive)?.ok_or(InputError::NoExportInZip)?;
        let entry = archive.by_index(index)?;
        let done = read(Box::new(BufReader::with_capacity(BUFFER_BYTES, entry)));
        // The export was read; what follows it in the archive (its directory) is not needed.
        bytes_read.0.store(size, Ordering::Relaxed);
        Ok(done)
    } else {
        Ok(read(Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            counted,
        ))))
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The entry holding the export: the largest `.xml` file that is not the clinical-document
/// export (`export_cda.xml`). Apple names it `export.xml` in English and translates the name
/// in other languages, so the name alone cannot be relied on.
fn export_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Result<Option<usize>, InputError> {
    let mut best: Option<(u64, usize)> = None;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i)?;
        let name = entry.name()?.to_ascii_lowercase();
        let file_name = name.rsplit('/').next().unwrap_or_default();
        if entry.is_dir() || !file_name.ends_with(".xml") || file_name.contains("_cda") {
            continue;
        }
        if best.is_none_or(|(size, _)| entry.size() > size) {
            best = Some((entry.size(), i));
        }
    }
    Ok(best.map(|(_, i)| i))
}

/// A file whose read position is published as it moves.
struct Counted {
    inner: File,
    position: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counted {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(to)?;
        self.position.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(entries: &[(&str, &str)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, text) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        file
    }

    fn read_all(path: &Path) -> (String, u64) {
        let bytes = BytesRead::default();
        let mut text = String::new();
        read(path, &bytes, |mut r| r.read_to_string(&mut text))
            .unwrap()
            .unwrap();
        (text, bytes.get())
    }

    #[test]
    fn the_export_is_found_in_a_zip_whatever_its_name() {
        let archive = zip_with(&[
            ("apple_health_export/export_cda.xml", "<ClinicalDocument/>"),
            (
                "apple_health_export/exportieren.xml",
                "<HealthData>the export</HealthData>",
            ),
            ("apple_health_export/workout-routes/route.gpx", "<gpx/>"),
        ]);
        let (text, read) = read_all(archive.path());
        assert_eq!(text, "<HealthData>the export</HealthData>");
        assert_eq!(read, archive.as_file().metadata().unwrap().len());
    }

    #[test]
    fn a_plain_file_is_read_as_it_is_and_counted_to_its_size() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"<HealthData/>").unwrap();
        assert_eq!(read_all(file.path()), ("<HealthData/>".to_owned(), 13));
    }

    #[test]
    fn a_zip_without_an_export_is_refused() {
        let archive = zip_with(&[("notes.txt", "hello")]);
        let err = read(archive.path(), &BytesRead::default(), |_| ())
            .err()
            .unwrap();
        assert!(matches!(err, InputError::NoExportInZip), "{err}");
    }
}
