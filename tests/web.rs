//! The web app in a real browser: Debian's headless Chromium, driven by Playwright for Python
//! (tests/web/page.py, installed by tests/clients/install), against a gateway with an
//! aggregation and an insights processor on the real stack.
//!
//! A user with a watch and a phone whose step counts overlap signs in; the page's tables
//! (the numbers it plots) equal the API's aggregates exactly; a bucket's explanation names
//! the watch as counted and the phone as trimmed, as the API does; moving the phone above
//! the watch makes the page wait for the processor and then show the API's new values; an
//! insight is acknowledged; the shares and an access log show. Screenshots of every step
//! are in `<target>/test-artifacts/web/`. A browser that cannot start fails the test.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::{NaiveDate, TimeDelta, Utc};
use common::exports::generated_export;
use common::query::{get_json, sample, steps, sync};
use common::{repo_root, unique, Pipeline};
use serde_json::{json, Value};

const PASSWORD: &str = "a web page password";
const FROM: &str = "2026-05-04";
const TO: &str = "2026-05-18";
const DAYS: i64 = 14;
/// What tests/web/page.py photographs, in `<target>/test-artifacts/web/<name>.png`.
const SCREENSHOTS: [&str; 7] = [
    "signin",
    "overview",
    "charts",
    "devices-moved",
    "insights",
    "shares",
    "import",
];
/// Records of the export imported through the page.
const IMPORTED: usize = 300;
/// Longest the browser script may take, start-up to sign-out.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_shows_explains_and_reorders_what_the_api_answers() {
    let python = std::env::var_os("HEALTHPIPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".stack/tools/venv/bin/python"));
    assert!(
        python.exists(),
        "no Python at {}: run tests/clients/install (or set HEALTHPIPE_PYTHON)",
        python.display()
    );
    let chromium =
        std::env::var("HEALTHPIPE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "no Chromium at {chromium}: tests/clients/install installs Debian's chromium"
    );

    let pipeline = Pipeline::start().await;
    pipeline.start_insights_processor();
    let email = format!("{}@example.org", unique("web"));
    let created = pipeline
        .http
        .post(pipeline.url("/api/v1/users"))
        .json(
            &json!({"email": email, "password": PASSWORD, "name": "Robin Web",
            "timezone": "Europe/Berlin"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let user_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = pipeline.sign_in(user_id, &email, PASSWORD).await;
    let watch = user.device("apple_watch", "web-watch").await;
    let phone = user.device("iphone", "web-phone").await;

    // Every morning both count the same half hour: the watch 08:00-09:00, the phone
    // 08:30-09:30 (UTC), so the lower one is trimmed; every other evening the phone alone.
    let first = NaiveDate::parse_from_str(FROM, "%Y-%m-%d").unwrap();
    let (mut on_watch, mut on_phone) = (Vec::new(), Vec::new());
    for d in 0..DAYS {
        let day = first + TimeDelta::days(d);
        let at = |time: &str| format!("{day}T{time}Z");
        let w = 3000.0 + ((d * 611) % 2500) as f64;
        let p = w + 700.0 + ((d * 97) % 300) as f64;
        on_watch.push(steps(&uuid(), w, &at("08:00:00"), &at("09:00:00")));
        on_phone.push(steps(&uuid(), p, &at("08:30:00"), &at("09:30:00")));
        if d % 2 == 0 {
            on_phone.push(steps(&uuid(), 480.0, &at("18:00:00"), &at("18:30:00")));
        }
        let hr = 58.0 + (d % 7) as f64;
        let now = at("10:00:00");
        on_watch.push(sample(&uuid(), "HEART_RATE", hr, "count/min", &now, &now));
    }
    // A resting heart rate over 100 bpm: an alert to acknowledge.
    let alert = format!("{}T06:00:00Z", first + TimeDelta::days(6));
    on_watch.push(sample(
        &uuid(),
        "RESTING_HEART_RATE",
        104.0,
        "bpm",
        &alert,
        &alert,
    ));
    sync(&user, &watch, on_watch).await;
    sync(&user, &phone, on_phone).await;

    // A share the clinician redeemed and read once, so its access log has lines.
    let (doctor, doctor_email) = pipeline.new_provider("Web Clinic").await;
    let created = user
        .post(
            "/api/v1/shares",
            json!({"recipient_email": doctor_email, "data_types": ["STEPS"],
                "date_start": FROM, "date_end": "2026-05-17",
                "expires_at": (Utc::now() + TimeDelta::days(7)).to_rfc3339(),
                "label": "Dr Test, steps in May"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let share_id = created["share"]["id"].as_str().unwrap().to_string();
    let redeemed = doctor
        .post(
            "/api/v1/shared/redeem",
            json!({"access_code": created["access_code"]}),
        )
        .await;
    assert_eq!(redeemed.status(), 200);
    let read = doctor
        .get(&format!(
            "/api/v1/shared/{share_id}/aggregates?type=STEPS&period=day&from={FROM}&to=2026-05-10"
        ))
        .await;
    assert_eq!(read.status(), 200);

    pipeline.settle().await;
    let insight = wait_for_insight(&user).await;
    let before = api_values(&user).await;
    assert_eq!(before["STEPS"].len(), DAYS as usize);

    // The app's files and its 404 and 405, as a browser and any client see them.
    let page = pipeline.http.get(pipeline.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let missing = pipeline
        .http
        .get(pipeline.url("/app/missing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let post = pipeline.http.post(pipeline.url("/")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET");

    let bucket = before["STEPS"][2].0.clone();
    let explained_before = explanation(&user, &bucket).await;

    let artifacts = artifacts_dir();
    let export = artifacts.join("export.xml");
    generated_export(IMPORTED, &mut std::fs::File::create(&export).unwrap());
    let report = run_browser(
        &python,
        &chromium,
        &pipeline.base_url,
        &email,
        &artifacts,
        &export,
    )
    .await;
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.is_empty(),
        "the page logged problems: {problems:#?}"
    );
    assert_eq!(report["token_in_session_storage"], true);
    assert_eq!(report["local_storage_keys"], json!([]));
    assert_eq!(report["token_after_sign_out"], Value::Null);
    assert!(report["charts_drawn"].as_u64().unwrap() >= 2);

    // The page plotted exactly the API's numbers.
    assert_eq!(
        shown(&report["before"]),
        before,
        "the page's values before the move"
    );
    assert_eq!(report["devices_before"], json!(["web-watch", "web-phone"]));

    // A click on the chart explained one of its buckets.
    let clicked = report["chart_click"].as_str().unwrap();
    assert!(
        before["STEPS"].iter().any(|(start, _)| start == clicked),
        "{clicked}"
    );

    // The explanation the page showed is the API's.
    let explain = &report["explain"];
    assert_eq!(explain["period_start"], json!(bucket));
    assert_eq!(explained(explain), explained_by_api(&explained_before));
    assert_eq!(explain["counted"], "web-watch, web-phone");
    assert_eq!(explain["trimmed"], "web-phone");
    assert_eq!(explain["samples"].as_array().unwrap().len(), 3);

    // After the move the page waited for the processor and shows the API's new values.
    assert_eq!(report["recompute_state"], "updated");
    assert_eq!(report["devices_after"], json!(["web-phone", "web-watch"]));
    let after = api_values(&user).await;
    assert_ne!(
        after["STEPS"], before["STEPS"],
        "the move changes the step counts"
    );
    assert_eq!(
        shown(&report["after"]),
        after,
        "the page's values after the move"
    );
    let explained_after = explanation(&user, &bucket).await;
    assert_eq!(
        explained(&report["explain_after"]),
        explained_by_api(&explained_after)
    );
    assert_eq!(report["explain_after"]["trimmed"], "web-watch");

    // The insight was acknowledged through the page, and the API says so once the insights
    // processor applied the acknowledgement.
    assert_eq!(report["acknowledged"], json!(insight));
    wait_for_acknowledgement(&user, &insight).await;

    // The shares and the access log.
    assert_eq!(report["shares"], json!([[share_id, "active"]]));
    let log: Vec<(String, String)> = serde_json::from_value(report["access_log"].clone()).unwrap();
    assert!(
        log.contains(&("redeem".into(), "allowed".into())),
        "{log:?}"
    );
    assert!(
        log.contains(&("aggregates".into(), "allowed".into())),
        "{log:?}"
    );

    // The import: the page's report is the API's.
    let shown_import = &report["import"];
    let id = shown_import["id"].as_str().unwrap();
    let api_import = get_json(&user, &format!("/api/v1/imports/{id}")).await;
    assert_eq!(api_import["status"], "completed");
    let api_report = &api_import["report"];
    assert_eq!(api_report["records"], IMPORTED);
    for key in ["records", "imported", "duplicates"] {
        assert_eq!(
            shown_import["summary"][key].as_str(),
            Some(api_report[key].to_string().as_str()),
            "{key}"
        );
    }
    let api_steps = api_report["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "STEPS")
        .unwrap();
    let shown_steps = shown_import["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "STEPS")
        .unwrap();
    for (shown_key, api_key) in [
        ("deduplicated", "deduplicated_total"),
        ("naive", "naive_sum"),
    ] {
        let shown: f64 = shown_steps[shown_key].as_str().unwrap().parse().unwrap();
        assert_eq!(shown, api_steps[api_key].as_f64().unwrap(), "{shown_key}");
    }

    for name in SCREENSHOTS {
        let path = artifacts.join(format!("{name}.png"));
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert!(size > 5_000, "{} is {size} bytes", path.display());
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `<target>/test-artifacts/web/`, emptied.
fn artifacts_dir() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target
        .parent()
        .expect("the target folder")
        .join("test-artifacts/web");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The day values of steps and heart rate in the range, as the API answers them.
async fn api_values(user: &common::Session) -> BTreeMap<String, Vec<(String, f64)>> {
    let mut values = BTreeMap::new();
    for kind in ["STEPS", "HEART_RATE", "RESTING_HEART_RATE"] {
        let rows = get_json(
            user,
            &format!("/api/v1/aggregates?type={kind}&period=day&from={FROM}&to={TO}"),
        )
        .await;
        let rows = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["period_start"].as_str().unwrap().to_string(),
                    r["value"].as_f64().unwrap(),
                )
            })
            .collect();
        values.insert(kind.to_string(), rows);
    }
    values
}

/// The page's tables as numbers: its `data-value` strings parsed, so the comparison is exact.
fn shown(tables: &Value) -> BTreeMap<String, Vec<(String, f64)>> {
    tables
        .as_object()
        .unwrap()
        .iter()
        .map(|(kind, rows)| {
            let rows = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let value: f64 = r[1].as_str().unwrap().parse().unwrap();
                    (r[0].as_str().unwrap().to_string(), value)
                })
                .collect();
            (kind.clone(), rows)
        })
        .collect()
}

async fn explanation(user: &common::Session, bucket: &str) -> Value {
    let start = bucket.replace('+', "%2B");
    get_json(
        user,
        &format!("/api/v1/aggregates/explain?type=STEPS&period=day&period_start={start}"),
    )
    .await
}

/// (device, status, counted value) of every sample, in order, and the bucket's value.
type Explained = (Vec<(String, String, f64)>, f64);

fn explained(page: &Value) -> Explained {
    let samples = page["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["device_name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["counted_value"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    (samples, page["value"].as_str().unwrap().parse().unwrap())
}

fn explained_by_api(api: &Value) -> Explained {
    let samples = api["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["device_name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["counted_value"].as_f64().unwrap(),
            )
        })
        .collect();
    (samples, api["value"].as_f64().unwrap())
}

/// The id of the user's one insight (the resting heart rate alert), once the insights
/// processor raised it.
async fn wait_for_insight(user: &common::Session) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = get_json(user, "/api/v1/insights").await;
        if let Some(first) = listed["insights"].as_array().unwrap().first() {
            return first["id"].as_str().unwrap().to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no insight within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for_acknowledgement(user: &common::Session, insight: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = get_json(user, "/api/v1/insights").await;
        let acknowledged = listed["insights"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == insight && i["acknowledged"] == true);
        if acknowledged {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "insight {insight} not acknowledged within 30 s: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs tests/web/page.py and returns the JSON it printed; fails on a non-zero exit, on
/// output that is not its report, or after `BROWSER_TIMEOUT`.
async fn run_browser(
    python: &PathBuf,
    chromium: &str,
    base_url: &str,
    email: &str,
    artifacts: &std::path::Path,
    import_file: &std::path::Path,
) -> Value {
    let script = repo_root().join("tests/web/page.py");
    let child = tokio::process::Command::new(python)
        .arg(&script)
        .args([
            "--base-url",
            base_url,
            "--email",
            email,
            "--password",
            PASSWORD,
        ])
        .args(["--from", FROM, "--to", TO, "--chromium", chromium])
        .arg("--artifacts")
        .arg(artifacts)
        .arg("--import-file")
        .arg(import_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let output = tokio::time::timeout(BROWSER_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the browser run took over {BROWSER_TIMEOUT:?}"))
        .expect("the browser script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "the browser script printed no report ({e}; exit {}):\n{stdout}\n{stderr}",
            output.status
        )
    });
    assert!(
        output.status.success(),
        "the browser script failed ({}): {report:#}\n{stderr}",
        output.status
    );
    report
}
