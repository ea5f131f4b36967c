//! Sharing with clinicians on the real stack: grants as events materialised by the
//! processor, redemption by the named provider only, reads of exactly the granted slice
//! (checked value by value against the owner's own aggregates, and as a FHIR R4 Bundle
//! validated by fhir.resources), the denial matrix (each refusal 403 or 404 with no data, and
//! each in the access log), revocation that holds while the projection lags, expiry by the
//! clock, the 30-day rule of the owner's list, the append-only access log, the export of
//! shares and their log, a replay that rebuilds the share grants, and SMART Health Links
//! opened with jwcrypto (passcode attempts, death with the grant).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use common::replay::Replay;
use common::seeded::connect;
use common::{unique, Pipeline, Session};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// Steps on every day of October 2026 (a distinct value a day), a heart rate and a weight.
async fn sync_october(owner: &Session) {
    let device = owner.device("iphone", &unique("phone")).await;
    let mut samples = Vec::new();
    for day in 1..=31 {
        let date = format!("2026-10-{day:02}");
        samples.push(
            json!({"type": "STEPS", "value": 1_000 + day, "unit": "count",
            "start_date": format!("{date}T09:00:00Z"), "end_date": format!("{date}T09:30:00Z")}),
        );
        samples.push(
            json!({"type": "HEART_RATE", "value": 60 + day % 7, "unit": "count/min",
            "start_date": format!("{date}T10:00:00Z"), "end_date": format!("{date}T10:00:00Z")}),
        );
        samples.push(
            json!({"type": "WEIGHT", "value": 70.0 + f64::from(day) / 10.0, "unit": "kg",
            "start_date": format!("{date}T07:00:00Z"), "end_date": format!("{date}T07:00:00Z")}),
        );
    }
    let response = owner
        .post(
            &format!("/api/v1/devices/{device}/sync"),
            json!({ "samples": samples }),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A share of steps and heart rate for October 5 to 20, for `email`, a week long.
fn october_share(email: &str) -> Value {
    json!({
        "recipient_email": email,
        "data_types": ["STEPS", "HEART_RATE"],
        "date_start": "2026-10-05",
        "date_end": "2026-10-20",
        "expires_at": (Utc::now() + chrono::Duration::days(7)).to_rfc3339(),
        "label": "Dr Test, follow-up",
    })
}

/// Creates a share; its id and access code.
async fn share(owner: &Session, body: Value) -> (String, String) {
    let response = owner.post("/api/v1/shares", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["share"]["state"], "pending");
    (
        created["share"]["id"].as_str().unwrap().to_string(),
        created["access_code"].as_str().unwrap().to_string(),
    )
}

async fn redeem(reader: &Session, code: &str) -> reqwest::Response {
    reader
        .post("/api/v1/shared/redeem", json!({ "access_code": code }))
        .await
}

/// Asserts a refusal: its status, and that it carries no data (the error shape only).
async fn refused(response: reqwest::Response, status: u16) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

/// The JSON Lines of `name` in an export.
fn json_lines(
    archive: &mut zip::ZipArchive<std::io::Cursor<bytes::Bytes>>,
    name: &str,
) -> Vec<Value> {
    use std::io::Read;
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} is in the export"))
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The access log of a share, as its owner sees it: (outcome, reason) per record.
async fn access_log(owner: &Session, share_id: &str) -> Vec<(String, String)> {
    let response = owner
        .get(&format!("/api/v1/shares/{share_id}/access-log"))
        .await;
    assert_eq!(response.status(), 200);
    let records: Vec<Value> = response.json().await.unwrap();
    records
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clinician_reads_exactly_the_granted_slice_and_every_refusal_is_on_record() {
    let pipeline = Pipeline::start().await;
    let owner = pipeline.new_user("UTC").await;
    let other_owner = pipeline.new_user("UTC").await;
    let user_account = pipeline.new_user("UTC").await;
    let (doctor, doctor_email) = pipeline.new_provider("Clinic A").await;
    let (colleague, _) = pipeline.new_provider("Clinic B").await;
    sync_october(&owner).await;
    pipeline.settle_aggregation().await;

    // Bad grants are refused, naming the field.
    for (field, value) in [
        ("date_end", json!("2026-10-01")),
        ("data_types", json!(["MOOD"])),
        ("expires_at", json!("2020-01-01T00:00:00Z")),
        ("recipient_email", json!("nobody")),
    ] {
        let mut body = october_share(&doctor_email);
        body[field] = value;
        let response = owner.post("/api/v1/shares", body).await;
        assert_eq!(response.status(), 422, "{field}");
        let message = response.json::<Value>().await.unwrap()["message"].to_string();
        assert!(message.contains(field), "{field}: {message}");
    }

    let (share_id, code) = share(&owner, october_share(&doctor_email)).await;
    let (other_share, _) = share(&other_owner, october_share(&doctor_email)).await;
    let listed: Vec<Value> = owner.get("/api/v1/shares").await.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], json!(share_id));
    assert_eq!(listed[0]["state"], "pending");
    let aggregates = |reader: &Session, share: &str, query: &str| {
        let path = format!("/api/v1/shared/{share}/aggregates?{query}");
        let reader = reader.clone();
        async move { reader.get(&path).await }
    };

    // The denial matrix, before and around redemption.
    let mut denials = BTreeMap::<&str, usize>::new();
    let mut deny = |reason| *denials.entry(reason).or_default() += 1;
    // Unredeemed: as if it did not exist.
    refused(aggregates(&doctor, &share_id, "type=STEPS").await, 404).await;
    deny("not_found");
    // A user-role account.
    refused(redeem(&user_account, &code).await, 403).await;
    refused(
        aggregates(&user_account, &share_id, "type=STEPS").await,
        403,
    )
    .await;
    deny("not_a_provider");
    // Another provider, with the right code.
    refused(redeem(&colleague, &code).await, 403).await;
    deny("not_the_recipient");
    // An unknown code.
    refused(redeem(&doctor, "AAAA-BBBB-CCCC-DDDD").await, 404).await;

    let response = redeem(&doctor, &code.to_lowercase().replace('-', " ")).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(response.json::<Value>().await.unwrap()["state"], "active");
    // Again: nothing changes.
    assert_eq!(redeem(&doctor, &code).await.status(), 200);
    // The colleague reusing the redeemed code.
    refused(redeem(&colleague, &code).await, 403).await;
    deny("not_the_recipient");
    // The colleague reading the doctor's share; the doctor reading another owner's share.
    refused(aggregates(&colleague, &share_id, "type=STEPS").await, 404).await;
    deny("not_found");
    refused(aggregates(&doctor, &other_share, "type=STEPS").await, 404).await;
    // A type not granted, dates outside the grant.
    refused(aggregates(&doctor, &share_id, "type=WEIGHT").await, 403).await;
    deny("type_not_granted");
    refused(
        aggregates(
            &doctor,
            &share_id,
            "type=STEPS&from=2026-10-21&to=2026-10-31",
        )
        .await,
        403,
    )
    .await;
    deny("outside_dates");

    // Allowed reads: exactly the owner's own buckets, clipped to the grant.
    let own = |query: String| {
        let owner = owner.clone();
        async move {
            let response = owner.get(&format!("/api/v1/aggregates?{query}")).await;
            assert_eq!(response.status(), 200);
            response.json::<Vec<Value>>().await.unwrap()
        }
    };
    let shared = |query: &'static str| {
        let read = aggregates(&doctor, &share_id, query);
        async move {
            let response = read.await;
            assert_eq!(response.status(), 200);
            response.json::<Vec<Value>>().await.unwrap()
        }
    };
    let granted_days = own("type=STEPS&period=day&from=2026-10-05&to=2026-10-20".into()).await;
    assert_eq!(
        granted_days.len(),
        16,
        "the owner has a bucket on every day"
    );
    assert_eq!(shared("type=STEPS").await, granted_days);
    let clipped = shared("type=STEPS&from=2026-10-01&to=2026-10-10").await;
    assert_eq!(clipped, granted_days[..6].to_vec());
    assert_eq!(
        shared("type=HEART_RATE").await,
        own("type=HEART_RATE&period=day&from=2026-10-05&to=2026-10-20".into()).await
    );
    // Weeks wholly inside October 5 (a Monday) to 20: the weeks of the 5th and the 12th; the
    // week of the 19th reaches past the grant and is left out.
    let weeks = shared("type=STEPS&period=week").await;
    let own_weeks = own("type=STEPS&period=week&from=2026-10-05&to=2026-10-18".into()).await;
    assert_eq!(own_weeks.len(), 2);
    assert_eq!(weeks, own_weeks);

    // The same slice as FHIR R4: valid, the owner's Patient, granted types only.
    let response = doctor.get(&format!("/api/v1/shared/{share_id}/fhir")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/fhir+json");
    let bundle = response.bytes().await.unwrap();
    if let Err(complaint) = common::fhir::validate_bundle(&bundle) {
        panic!("the shared Bundle does not validate: {complaint}");
    }
    let bundle: Value = serde_json::from_slice(&bundle).unwrap();
    assert_eq!(bundle["type"], "searchset");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries[0]["resource"]["resourceType"], "Patient");
    assert_eq!(entries[0]["resource"]["id"], json!(owner.user_id));
    let codes: Vec<&str> = entries[1..]
        .iter()
        .map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "55423-8").count(), 16);
    assert_eq!(codes.iter().filter(|c| **c == "8867-4").count(), 16);
    assert_eq!(codes.len(), 32, "only the granted types: {codes:?}");
    let steps_values: Vec<f64> = entries[1..]
        .iter()
        .filter(|e| e["resource"]["code"]["coding"][0]["code"] == "55423-8")
        .map(|e| e["resource"]["valueQuantity"]["value"].as_f64().unwrap())
        .collect();
    let own_values: Vec<f64> = granted_days
        .iter()
        .map(|d| d["value"].as_f64().unwrap())
        .collect();
    assert_eq!(steps_values, own_values);

    // The provider's list; then revocation: refused at once.
    let list: Vec<Value> = doctor.get("/api/v1/shared").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], json!(share_id));
    let response = owner.delete(&format!("/api/v1/shares/{share_id}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["state"], "revoked");
    refused(aggregates(&doctor, &share_id, "type=STEPS").await, 403).await;
    deny("revoked");
    refused(redeem(&doctor, &code).await, 403).await;
    deny("revoked");
    let list: Vec<Value> = doctor.get("/api/v1/shared").await.json().await.unwrap();
    assert!(list.is_empty());

    // Every refusal and every read is on the owner's record, with its reason.
    let log = access_log(&owner, &share_id).await;
    let mut logged = BTreeMap::<&str, usize>::new();
    for (outcome, reason) in &log {
        if outcome == "denied" {
            *logged.entry(reason.as_str()).or_default() += 1;
        }
    }
    assert_eq!(logged, denials, "{log:?}");
    let allowed = log.iter().filter(|(o, _)| o == "allowed").count();
    // Two redemptions (the second changes nothing), four aggregate reads, one FHIR read.
    assert_eq!(allowed, 7, "{log:?}");
    // The other owner sees the doctor's attempt on their unredeemed share.
    assert_eq!(
        access_log(&other_owner, &other_share).await,
        vec![("denied".to_string(), "not_found".to_string())]
    );
    // Nobody else sees a share's log.
    assert_eq!(
        owner
            .get(&format!("/api/v1/shares/{other_share}/access-log"))
            .await
            .status(),
        404
    );

    // The owner's export holds the share and its whole access log, and nothing of the other
    // owner's.
    let response = owner.get("/api/v1/me/export").await;
    assert_eq!(response.status(), 200);
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(response.bytes().await.unwrap())).unwrap();
    let shares = json_lines(&mut archive, "shares.jsonl");
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0]["id"], json!(share_id));
    assert_eq!(shares[0]["state"], "revoked");
    let exported_log = json_lines(&mut archive, "share-access.jsonl");
    assert_eq!(exported_log.len(), log.len());
    assert!(exported_log
        .iter()
        .all(|r| r["reader_id"] != json!(null) || r["outcome"] == "denied"));

    // The access log is append-only, whoever asks the database.
    let db = connect(&pipeline.database_url).await;
    for statement in [
        "DELETE FROM share_access",
        "UPDATE share_access SET outcome = 'allowed'",
        "TRUNCATE share_access",
    ] {
        let error = db.execute(statement, &[]).await.unwrap_err();
        let message = error.as_db_error().map(|e| e.message().to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("append-only")),
            "{statement}: {error:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_holds_while_the_projection_lags_and_expiry_needs_no_event() {
    let mut pipeline = Pipeline::without_processor().await;
    pipeline.base_url = pipeline
        .start_gateway_with(healthpipe_gateway::GatewayConfig {
            projection_wait: Duration::from_secs(2),
            ..pipeline.gateway_config()
        })
        .await;
    let processor = || {
        let token = CancellationToken::new();
        let running = tokio::spawn(healthpipe_processors::run_aggregation(
            pipeline.processor_config(),
            token.child_token(),
        ));
        (token, running)
    };
    let (stop, running) = processor();
    let owner = pipeline.new_user("UTC").await;
    let (doctor, email) = pipeline.new_provider("Clinic").await;
    sync_october(&owner).await;
    let (share_id, code) = share(&owner, october_share(&email)).await;
    assert_eq!(redeem(&doctor, &code).await.status(), 200);
    let path = format!("/api/v1/shared/{share_id}/aggregates?type=STEPS");
    let read = || doctor.get(&path);
    assert_eq!(read().await.status(), 200);

    // The processor stops: the revocation cannot be applied, the owner is told it is saved,
    // and the share is refused all the same.
    stop.cancel();
    running.await.unwrap().expect("the processor stops");
    let response = owner.delete(&format!("/api/v1/shares/{share_id}")).await;
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("saved"));
    refused(read().await, 403).await;
    let listed: Vec<Value> = owner.get("/api/v1/shares").await.json().await.unwrap();
    assert_eq!(listed[0]["state"], "revoked");
    // Back: the projection catches up with the revocation.
    let (stop, running) = processor();
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT count(*) FROM share_grants \
                 WHERE share_id = '{share_id}' AND revoked_at IS NOT NULL"
            ),
            "1",
        )
        .await;
    refused(read().await, 403).await;
    assert_eq!(
        access_log(&owner, &share_id).await[..2],
        [
            ("denied".to_string(), "revoked".to_string()),
            ("denied".to_string(), "revoked".to_string())
        ]
    );

    // A grant that expires in two seconds: readable, then refused, with no event.
    let mut body = october_share(&email);
    body["expires_at"] = json!((Utc::now() + chrono::Duration::seconds(3)).to_rfc3339());
    let (short, code) = share(&owner, body).await;
    assert_eq!(redeem(&doctor, &code).await.status(), 200);
    let short_path = format!("/api/v1/shared/{short}/aggregates?type=STEPS");
    let read_short = || doctor.get(&short_path);
    assert_eq!(read_short().await.status(), 200);
    tokio::time::sleep(Duration::from_secs(4)).await;
    refused(read_short().await, 403).await;
    refused(redeem(&doctor, &code).await, 403).await;
    let listed: Vec<Value> = owner.get("/api/v1/shares").await.json().await.unwrap();
    let short_view = listed.iter().find(|s| s["id"] == json!(short)).unwrap();
    assert_eq!(short_view["state"], "expired");
    assert_eq!(
        access_log(&owner, &short).await[..2],
        [
            ("denied".to_string(), "expired".to_string()),
            ("denied".to_string(), "expired".to_string())
        ]
    );
    stop.cancel();
    running.await.unwrap().expect("the processor stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_rebuilds_the_share_grants_and_ended_grants_leave_the_list_after_30_days() {
    let pipeline = Pipeline::start().await;
    let owner = pipeline.new_user("UTC").await;
    let (doctor, email) = pipeline.new_provider("Clinic").await;
    let (redeemed, code) = share(&owner, october_share(&email)).await;
    assert_eq!(redeem(&doctor, &code).await.status(), 200);
    let (revoked, _) = share(&owner, october_share(&email)).await;
    assert_eq!(
        owner
            .delete(&format!("/api/v1/shares/{revoked}"))
            .await
            .status(),
        200
    );
    share(&owner, october_share(&email)).await;

    // Grants that ended 29 and 31 days ago, as the log holds them.
    let user: uuid::Uuid = owner.user_id.parse().unwrap();
    let mut ended = Vec::new();
    for days in [29, 31] {
        let at = Utc::now() - chrono::Duration::days(days);
        let event = healthpipe_schemas::ShareGranted {
            event_id: uuid::Uuid::new_v4().to_string(),
            user_id: owner.user_id.clone(),
            share_id: uuid::Uuid::new_v4().to_string(),
            recipient_email: email.clone(),
            sample_types: vec!["STEPS".into()],
            date_start: "2026-01-01".into(),
            date_end: "2026-01-31".into(),
            expires_at: at.timestamp_micros(),
            label: format!("ended {days} days ago"),
            code_digest: format!("{days:064x}"),
            granted_at: (at - chrono::Duration::days(7)).timestamp_micros(),
        };
        pipeline
            .append(
                &pipeline.topics.user_events,
                &owner.user_id,
                &event,
                Utc::now(),
            )
            .await;
        ended.push(event.share_id);
    }
    pipeline.settle_aggregation().await;
    let listed: Vec<Value> = owner.get("/api/v1/shares").await.json().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 4, "{ids:?}");
    assert!(ids.contains(&ended[0].as_str()) && !ids.contains(&ended[1].as_str()));
    assert!(ids.contains(&redeemed.as_str()) && ids.contains(&revoked.as_str()));

    // The projection is a function of the log: a replay gives the same rows.
    let rows = |url: String| async move {
        let db = connect(&url).await;
        let row = db
            .query_one(
                "SELECT count(*), md5(string_agg(g::text, '|' ORDER BY share_id)) \
                 FROM share_grants g WHERE user_id = $1",
                &[&user],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0), row.get::<_, Option<String>>(1))
    };
    let live = rows(pipeline.database_url.clone()).await;
    // The grant that ended 31 days ago is beyond retention: never projected at all.
    assert_eq!(live.0, 4);
    let replay = Replay::start(&pipeline, &pipeline.topics, false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let replayed = rows(replay.database_url.clone()).await;
        if replayed == live {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replay's share grants differ: {replayed:?} against {live:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    replay.stop().await;
}

/// Opens a link's file with jwcrypto (tests/clients/shl_open.py): the plaintext.
fn open_with_jwcrypto(link: &str, jwe: &str) -> Vec<u8> {
    let opened = std::process::Command::new(common::fhir::python())
        .arg(common::repo_root().join("tests/clients/shl_open.py"))
        .args([link, jwe])
        .output()
        .expect("the viewer starts");
    assert!(
        opened.status.success(),
        "jwcrypto does not open the file: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    opened.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_smart_health_link_opens_with_its_passcode_and_dies_with_the_grant() {
    use base64::Engine;
    let pipeline = Pipeline::start().await;
    let owner = pipeline.new_user("UTC").await;
    sync_october(&owner).await;
    pipeline.settle_aggregation().await;
    let (share_id, _) = share(&owner, october_share("dr.nobody@example.org")).await;
    let make_link = |passcode: &'static str| {
        let owner = owner.clone();
        let path = format!("/api/v1/shares/{share_id}/links");
        async move {
            let response = owner.post(&path, json!({ "passcode": passcode })).await;
            assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
            let made: Value = response.json().await.unwrap();
            made["link"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(
        owner
            .post(
                &format!("/api/v1/shares/{share_id}/links"),
                json!({"passcode": "123"})
            )
            .await
            .status(),
        422
    );
    let link = make_link("472913").await;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(link.strip_prefix("shlink:/").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["flag"], "P");
    assert_eq!(payload["v"], 1);
    assert_eq!(payload["key"].as_str().unwrap().len(), 43);
    assert_eq!(payload["label"], "Dr Test, follow-up");
    let url = payload["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/shl/", pipeline.base_url)),
        "{url}"
    );
    let open = |passcode: Option<&'static str>| {
        let http = pipeline.http.clone();
        let url = url.clone();
        async move {
            let mut body = json!({"recipient": "Test viewer"});
            if let Some(p) = passcode {
                body["passcode"] = p.into();
            }
            http.post(&url).json(&body).send().await.unwrap()
        }
    };

    // A missing or wrong passcode: 401 with the attempts left, and no file.
    let response = open(None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["remainingAttempts"],
        4
    );
    let response = open(Some("000000")).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["remainingAttempts"], 3);
    assert!(body.get("files").is_none());

    // The right one: the file, which jwcrypto opens to a valid FHIR R4 Bundle of the grant.
    let response = open(Some("472913")).await;
    assert_eq!(response.status(), 200);
    let manifest: Value = response.json().await.unwrap();
    assert_eq!(manifest["files"][0]["contentType"], "application/fhir+json");
    let jwe = manifest["files"][0]["embedded"].as_str().unwrap();
    let bundle = open_with_jwcrypto(&link, jwe);
    if let Err(complaint) = common::fhir::validate_bundle(&bundle) {
        panic!("the link's Bundle does not validate: {complaint}");
    }
    let bundle: Value = serde_json::from_slice(&bundle).unwrap();
    let codes: Vec<&str> = bundle["entry"].as_array().unwrap()[1..]
        .iter()
        .map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "55423-8").count(), 16);
    assert_eq!(codes.iter().filter(|c| **c == "8867-4").count(), 16);
    assert_eq!(codes.len(), 32, "{codes:?}");
    // The right passcode gave its attempt back.
    assert_eq!(
        open(Some("1")).await.json::<Value>().await.unwrap()["remainingAttempts"],
        2
    );

    // Five wrong passcodes kill a link, even for the right one after.
    let other = make_link("918273").await;
    let other_payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(other.strip_prefix("shlink:/").unwrap())
            .unwrap(),
    )
    .unwrap();
    let other_url = other_payload["url"].as_str().unwrap().to_string();
    for left in (0..5).rev() {
        let response = pipeline
            .http
            .post(&other_url)
            .json(&json!({"recipient": "guesser", "passcode": "wrong!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.json::<Value>().await.unwrap()["remainingAttempts"],
            left
        );
    }
    let response = pipeline
        .http
        .post(&other_url)
        .json(&json!({"recipient": "guesser", "passcode": "918273"}))
        .send()
        .await
        .unwrap();
    refused(response, 404).await;

    // The link dies with the grant.
    assert_eq!(
        owner
            .delete(&format!("/api/v1/shares/{share_id}"))
            .await
            .status(),
        200
    );
    refused(open(Some("472913")).await, 404).await;

    // Every opening and refusal is on the owner's record.
    let log = access_log(&owner, &share_id).await;
    let reasons: Vec<(String, String)> = log.into_iter().collect();
    let count = |outcome: &str, reason: &str| {
        reasons
            .iter()
            .filter(|(o, r)| o == outcome && r == reason)
            .count()
    };
    assert_eq!(count("allowed", ""), 1, "{reasons:?}");
    assert_eq!(count("denied", "wrong_passcode"), 3 + 5, "{reasons:?}");
    assert_eq!(count("denied", "no_attempts_left"), 1, "{reasons:?}");
    assert_eq!(count("denied", "revoked"), 1, "{reasons:?}");
}
