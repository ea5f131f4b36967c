//! The web app: a page at `/` and its files under `/app/`, built into the binary (plain HTML,
//! JavaScript modules and CSS from `gateway/web/`, no build step). The page talks to the API
//! like any other client, with a bearer token it keeps in the tab's `sessionStorage`.
//!
//! Every answer carries a strict Content-Security-Policy (this origin only, no inline script
//! or style), `nosniff` and no referrer. The vendored chart library sits under a versioned
//! path and is cached for good; everything else is revalidated by its ETag. A path under
//! `/app/` that is not one of the files is the API's JSON 404.

use std::sync::OnceLock;

use healthpipe_domain::{AggregationKind, SampleType};
use sha2::{Digest, Sha256};
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::ApiError;

/// The web app's paths and methods, for the `Allow` header of a 405 (see `routes`).
pub const ROUTE_TABLE: &[(&str, &str)] = &[("/", "GET"), ("/app/{file}", "GET")];

/// Only this origin: scripts and styles from files, requests to the API, no frames.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Files that can change with any release: the browser asks again each time (a 304 when
/// the ETag still matches).
const REVALIDATE: &str = "no-cache";
/// Files whose path names their version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    /// The path under `/app/` (`""` for the page itself at `/`).
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    cache: &'static str,
}

/// A file of `gateway/web/`, served at `/app/<its path>`.
macro_rules! asset {
    ($path:literal, $content_type:expr, $cache:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../web/", $path)),
            cache: $cache,
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const ASSETS: &[Asset] = &[
    Asset {
        path: "",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/index.html"),
        cache: REVALIDATE,
    },
    asset!("app.css", CSS, REVALIDATE),
    asset!("favicon.svg", "image/svg+xml", REVALIDATE),
    asset!("js/app.js", JS, REVALIDATE),
    asset!("js/api.js", JS, REVALIDATE),
    asset!("js/dom.js", JS, REVALIDATE),
    asset!("js/charts.js", JS, REVALIDATE),
    asset!("js/devices.js", JS, REVALIDATE),
    asset!("js/insights.js", JS, REVALIDATE),
    asset!("js/imports.js", JS, REVALIDATE),
    asset!("js/shares.js", JS, REVALIDATE),
    asset!("vendor/uplot-1.6.32/uPlot.iife.min.js", JS, IMMUTABLE),
    asset!("vendor/uplot-1.6.32/uPlot.min.css", CSS, IMMUTABLE),
];

/// `/app/types.json`: every sample type with how it aggregates and its canonical unit, from
/// the domain's one table, so the page never keeps a copy of it.
const TYPES_PATH: &str = "types.json";

/// `GET /` and `GET /app/{file}`. Role: none (the page holds no data; the API checks every
/// request the page makes).
pub fn routes() -> BoxedFilter<(Response,)> {
    let etag = warp::header::optional::<String>("if-none-match");
    let page = warp::get()
        .and(warp::path::end())
        .and(etag)
        .map(|etag: Option<String>| serve("", etag.as_deref()));
    let file = warp::get()
        .and(warp::path("app"))
        .and(warp::path::tail())
        .and(etag)
        .map(|tail: warp::path::Tail, etag: Option<String>| file(tail.as_str(), etag.as_deref()));
    page.or(file).unify().boxed()
}

/// The file at `/app/<path>` (never the page: its key is the empty path).
fn file(path: &str, if_none_match: Option<&str>) -> Response {
    if path.is_empty() {
        return not_found(path);
    }
    serve(path, if_none_match)
}

fn not_found(path: &str) -> Response {
    secured(ApiError::NotFound(format!("no file /app/{path}")).into_response())
}

/// The file at `path`, a 304 when `if_none_match` names its ETag, or the JSON 404.
fn serve(path: &str, if_none_match: Option<&str>) -> Response {
    let Some((content_type, body, cache)) = find(path) else {
        return not_found(path);
    };
    let etag = etag_of(body);
    let mut response = if if_none_match.is_some_and(|given| matches_etag(given, &etag)) {
        warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response()
    } else {
        let mut r = Response::new(body.into());
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static(content_type));
        r
    };
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert("etag", value);
    }
    secured(response)
}

/// The content type, body and cache policy of `path`.
fn find(path: &str) -> Option<(&'static str, &'static [u8], &'static str)> {
    if path == TYPES_PATH {
        return Some(("application/json", types_json().as_bytes(), REVALIDATE));
    }
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(|a| (a.content_type, a.body, a.cache))
}

fn types_json() -> &'static str {
    static TYPES: OnceLock<String> = OnceLock::new();
    TYPES.get_or_init(|| {
        let types: Vec<serde_json::Value> = SampleType::all()
            .map(|t| {
                let kind = match t.kind() {
                    AggregationKind::Cumulative => "cumulative",
                    AggregationKind::Discrete => "discrete",
                    AggregationKind::Latest => "latest",
                };
                serde_json::json!({
                    "type": t.as_str(),
                    "kind": kind,
                    "unit": t.canonical_unit().symbol(),
                })
            })
            .collect();
        serde_json::Value::Array(types).to_string()
    })
}

/// A strong ETag of the body (its SHA-256, shortened): the files are compiled in, so it only
/// changes with a release.
fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// `If-None-Match` holds a list of ETags, or `*`.
fn matches_etag(given: &str, etag: &str) -> bool {
    given
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// The headers every answer of the web app carries.
fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, if_none_match: Option<&str>) -> Response {
        match path.strip_prefix("/app/") {
            Some(tail) => file(tail, if_none_match),
            None => serve("", if_none_match),
        }
    }

    #[test]
    fn the_page_and_its_files_have_their_types_and_a_strict_policy() {
        for (path, content_type) in [
            ("/", "text/html; charset=utf-8"),
            ("/app/js/app.js", JS),
            ("/app/app.css", CSS),
            ("/app/vendor/uplot-1.6.32/uPlot.iife.min.js", JS),
            ("/app/types.json", "application/json"),
        ] {
            let response = get(path, None);
            assert_eq!(response.status(), 200, "{path}");
            let h = response.headers();
            assert_eq!(h["content-type"], content_type, "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff");
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("script-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert!(h.contains_key("etag") && h.contains_key("cache-control"));
        }
        let vendor = get("/app/vendor/uplot-1.6.32/uPlot.min.css", None);
        assert!(vendor.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert_eq!(get("/", None).headers()["cache-control"], "no-cache");
    }

    #[test]
    fn an_unknown_file_is_the_apis_404() {
        for path in ["/app/nope.js", "/app/", "/app/js", "/app/../Cargo.toml"] {
            let response = get(path, None);
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        }
    }

    #[test]
    fn a_matching_etag_is_a_304() {
        let first = get("/app/js/api.js", None);
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(get("/app/js/api.js", Some(&etag)).status(), 304);
        assert_eq!(
            get("/app/js/api.js", Some(&format!("\"x\", W/{etag}"))).status(),
            304
        );
        assert_eq!(
            get("/app/js/api.js", Some("\"something-else\"")).status(),
            200
        );
    }

    #[test]
    fn the_types_are_the_domains() {
        let types: Vec<serde_json::Value> = serde_json::from_str(types_json()).unwrap();
        assert_eq!(types.len(), SampleType::all().count());
        let steps = types.iter().find(|t| t["type"] == "STEPS").unwrap();
        assert_eq!(steps["kind"], "cumulative");
        assert_eq!(steps["unit"], "count");
    }

    /// Every file the page loads is in the table, so the page never asks for a 404.
    #[test]
    fn every_file_the_page_references_is_served() {
        let mut references = Vec::new();
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap_or("");
            if !(asset.path.is_empty() || asset.path.starts_with("js/")) {
                continue;
            }
            for quote in ['"', '\''] {
                for part in text.split(quote).skip(1).step_by(2) {
                    if let Some(rest) = part.strip_prefix("/app/") {
                        references.push(rest.to_string());
                    } else if let Some(rest) = part.strip_prefix("./") {
                        if rest.ends_with(".js") {
                            references.push(format!("js/{rest}"));
                        }
                    }
                }
            }
        }
        assert!(references.len() >= 8, "{references:?}");
        for r in references {
            assert!(find(&r).is_some(), "{r} is referenced but not served");
        }
    }
}
