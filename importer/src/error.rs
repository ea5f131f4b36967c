//! The errors that stop an import as a whole.
//!
//! A single bad record never stops an import: it becomes a [`crate::Skipped`] entry and the
//! import goes on. Only a file that cannot be read or is not XML/JSON any more (truncated
//! mid-tag, mismatched end tags) ends it, because after such damage the position of the
//! following records cannot be trusted.

/// Why an import could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The XML stopped being well-formed; `line` is where the parser gave up (1-based).
    #[error("export.xml is not well-formed XML near line {line}: {source}")]
    Xml {
        line: usize,
        #[source]
        source: quick_xml::Error,
    },
    /// The file ends inside an element: most often an export cut short by a failed copy.
    #[error(
        "export.xml ends at line {line} before its elements are closed: is the file truncated?"
    )]
    Truncated { line: usize },
    /// The input is not an Apple Health export at all.
    #[error("not an Apple Health export.xml: {reason}")]
    NotAnExport { reason: String },
    /// A JSON input (shimmer response) could not be parsed or lacks an expected field.
    #[error("{what}: {reason}")]
    Json { what: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let err = ImportError::Xml {
            line: 12,
            source: quick_xml::Error::Io(std::sync::Arc::new(std::io::Error::other("disk gone"))),
        };
        assert!(err.to_string().contains("near line 12"), "{err}");
        let err = ImportError::Json {
            what: "fitbit steps".into(),
            reason: "missing field".into(),
        };
        assert_eq!(err.to_string(), "fitbit steps: missing field");
    }
}
