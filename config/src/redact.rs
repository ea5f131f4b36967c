//! Credentials out of sight: a URL is shown with its password replaced, so logs and `Debug`
//! output still say which server and user a service talks to.

use std::fmt;

/// What a password is replaced with.
const MASK: &str = "<redacted>";

/// `url` with any password replaced by `<redacted>`: the `user:password@` part of a URL
/// (`postgres://`, `http://`, ...) and the `password=` pair of a libpq key=value string.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The authority ends at the first '/', '?' or '#'; its user info at its last '@'.
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let tail = redact_query(tail);
        return match authority.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:{MASK}@{host}{tail}"),
                None => format!("{scheme}://{user_info}@{host}{tail}"),
            },
            None => format!("{scheme}://{authority}{tail}"),
        };
    }
    redact_key_value(url)
}

/// A `password=` parameter in a URL's query string.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// The `password=...` pair of `host=db user=app password=secret` (quoted values included).
fn redact_key_value(text: &str) -> String {
    let Some(start) = text.find("password") else {
        return text.to_string();
    };
    let after_key = &text[start + "password".len()..];
    let Some(value) = after_key.trim_start().strip_prefix('=') else {
        return text.to_string();
    };
    let value = value.trim_start();
    let value_len = if let Some(quoted) = value.strip_prefix('\'') {
        // Up to the closing quote that is not escaped, quotes included.
        let mut escaped = false;
        let close = quoted
            .char_indices()
            .find(|&(_, c)| {
                let end = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            })
            .map_or(quoted.len(), |(i, _)| i + 1);
        close + 1
    } else {
        value.find(char::is_whitespace).unwrap_or(value.len())
    };
    let value_start = text.len() - value.len();
    format!(
        "{}password={MASK}{}",
        &text[..start],
        &text[value_start + value_len..]
    )
}

/// Shows a URL or connection string through [`redact`], in `Debug` and `Display` alike.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact(self.0), f)
    }
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_and_the_rest_kept() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/healthpipe?sslmode=require"),
            "postgres://app:<redacted>@db.internal:5432/healthpipe?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://app@db/healthpipe?password=s3cret&application_name=x"),
            "postgresql://app@db/healthpipe?password=<redacted>&application_name=x"
        );
        assert_eq!(
            redact("http://user:p%40ss@registry:8081"),
            "http://user:<redacted>@registry:8081"
        );
        assert_eq!(redact("http://127.0.0.1:58081"), "http://127.0.0.1:58081");
    }

    #[test]
    fn passwords_in_key_value_strings_are_masked() {
        assert_eq!(
            redact("host=db user=app password=s3cret dbname=hp"),
            "host=db user=app password=<redacted> dbname=hp"
        );
        assert_eq!(
            redact("host=db password = 'se cr\\'et' dbname=hp"),
            "host=db password=<redacted> dbname=hp"
        );
        assert_eq!(redact("host=db user=app"), "host=db user=app");
    }

    #[test]
    fn debug_and_display_never_show_the_password() {
        let url = "postgres://app:s3cret@db/hp";
        let shown = format!("{:?} {}", Redacted(url), Redacted(url));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
