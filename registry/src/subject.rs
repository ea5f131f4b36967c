//! Path parameters, parsed once at the edge: subject names and version selectors.

use std::fmt;

use percent_encoding::percent_decode_str;

/// Longest subject accepted: far above any topic-derived name, well below PostgreSQL's btree
/// row limit on the primary key.
const MAX_SUBJECT_BYTES: usize = 1024;

/// A subject name, percent-decoded from the request path.
#[derive(Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Decodes a raw path segment (clients encode `/`, spaces and the like).
    pub fn from_path(segment: &str) -> Result<Self, String> {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| format!("subject {segment:?} is not valid UTF-8 once decoded"))?;
        Self::parse(&decoded)
    }

    /// Accepts any non-empty name without control characters, up to 1 KiB.
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > MAX_SUBJECT_BYTES || name.chars().any(char::is_control) {
            return Err(format!("Invalid subject {name:?}"));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Which version of a subject a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// `latest` or `-1`.
    Latest,
    /// A version number, 1 or more.
    Number(i32),
}

impl VersionSpec {
    /// Parses `latest`, `-1` or a positive version; anything else is Confluent's 42202.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "latest" | "-1" => Ok(Self::Latest),
            _ => text
                .parse::<i32>()
                .ok()
                .filter(|v| *v >= 1)
                .map(Self::Number)
                .ok_or_else(|| {
                    format!(
                        "The specified version '{text}' is not a valid version id. Allowed values \
                         are between [1, 2^31-1] and the string \"latest\""
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_percent_decoded() {
        let s = Subject::from_path("healthpipe.user-events-healthpipe.events.SamplesRecorded");
        assert_eq!(
            s.unwrap().as_str(),
            "healthpipe.user-events-healthpipe.events.SamplesRecorded"
        );
        assert_eq!(Subject::from_path("a%2Fb%20c").unwrap().as_str(), "a/b c");
        assert!(Subject::from_path("").is_err());
        assert!(Subject::from_path("%FF").is_err());
        assert!(Subject::from_path("a%0Ab").is_err());
    }

    #[test]
    fn versions_are_latest_or_positive() {
        assert_eq!(VersionSpec::parse("latest"), Ok(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("-1"), Ok(VersionSpec::Latest));
        assert_eq!(VersionSpec::parse("3"), Ok(VersionSpec::Number(3)));
        for bad in ["0", "-2", "x", "2147483648", ""] {
            assert!(VersionSpec::parse(bad).is_err(), "{bad:?}");
        }
    }
}
