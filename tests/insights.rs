//! The insights processor on the real stack, with crafted histories: events are appended to
//! the user-event topic with the create time of a past day, as an import or a late upload
//! would, so each rule is evaluated "as of" a chosen instant. Every rule fires above its
//! threshold and minimum coverage and stays quiet below; insights resolve when their data
//! goes; a time-zone change re-evaluates in the new zone; and a replay into an empty database
//! gives the same insights, acknowledgements included.

mod common;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use common::seeded::connect;
use common::{scratch_database, unique, Pipeline, Session};
use healthpipe_schemas::{
    InsightAcknowledged, InsightRaised, Sample, SamplesDeleted, SamplesRecorded,
    UserTimeZoneChanged,
};
use uuid::Uuid;

/// A user with one device, whose samples the test appends directly to the log.
struct Person {
    session: Session,
    device: String,
    tz: Tz,
}

impl Person {
    async fn new(pipeline: &Pipeline, tz: Tz) -> Person {
        let session = pipeline.new_user(tz.name()).await;
        let device = session.device("apple_watch", &unique("watch")).await;
        Person {
            session,
            device,
            tz,
        }
    }

    fn user(&self) -> &str {
        &self.session.user_id
    }

    /// Local wall-clock time in the person's zone.
    fn local(&self, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        self.tz
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .expect("local time exists")
            .with_timezone(&Utc)
    }

    fn sample(&self, t: &str, value: f64, start: DateTime<Utc>, end: DateTime<Utc>) -> Sample {
        let unit = match t {
            "STEPS" => "count",
            "SLEEP_ANALYSIS" => "min",
            "RESTING_HEART_RATE" => "bpm",
            "OXYGEN_SATURATION" => "percent",
            "BLOOD_GLUCOSE" => "mg/dL",
            other => panic!("no unit for {other}"),
        };
        let offset = start
            .with_timezone(&self.tz)
            .offset()
            .fix()
            .local_minus_utc();
        Sample {
            sample_id: Uuid::new_v4().to_string(),
            sample_type: t.into(),
            value,
            unit: unit.into(),
            start_time: start.timestamp_micros(),
            end_time: end.timestamp_micros(),
            utc_offset_seconds: offset,
            source_app: None,
            sync_identifier: None,
            sync_version: None,
            metadata: Default::default(),
        }
    }

    /// Appends the samples as one sync accepted at `at`.
    async fn record(&self, pipeline: &Pipeline, samples: Vec<Sample>, at: DateTime<Utc>) {
        let event = SamplesRecorded {
            event_id: Uuid::new_v4().to_string(),
            user_id: self.user().into(),
            device_id: self.device.clone(),
            recorded_at: at.timestamp_micros(),
            samples,
        };
        pipeline
            .append(&pipeline.topics.user_events, self.user(), &event, at)
            .await;
    }
}

/// `rule_key severity status [direction]` of every insight of `user`, sorted.
async fn insights(pipeline: &Pipeline, user: &str) -> Vec<String> {
    let client = connect(&pipeline.database_url).await;
    let rows = client
        .query(
            "SELECT rule_key, severity, status, coalesce(direction, '') FROM insights \
             WHERE user_id = $1::text::uuid ORDER BY rule_key, created_at",
            &[&user],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let d: String = r.get(3);
            format!(
                "{} {} {} {d}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2)
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

async fn start() -> Pipeline {
    let pipeline = Pipeline::start().await;
    pipeline.start_insights_processor();
    pipeline
}

/// Per-day alerts with a user whose days sit just above and just below each threshold and
/// minimum coverage.
async fn alert_history(pipeline: &Pipeline) -> (Person, Vec<Sample>, DateTime<Utc>) {
    let p = Person::new(pipeline, chrono_tz::Europe::Berlin).await;
    let at = |d: u32, h: u32| p.local(2026, 11, d, h, 0);
    let spot = |t: &str, v: f64, d: u32, h: u32| p.sample(t, v, at(d, h), at(d, h));
    let low_glucose = spot("BLOOD_GLUCOSE", 50.0, 10, 8);
    let samples = vec![
        // 10 Nov: SpO2 88 % among three readings, glucose 50, resting HR 101: all fire.
        spot("OXYGEN_SATURATION", 95.0, 10, 1),
        spot("OXYGEN_SATURATION", 88.0, 10, 2),
        spot("OXYGEN_SATURATION", 96.0, 10, 3),
        low_glucose.clone(),
        spot("RESTING_HEART_RATE", 101.0, 10, 7),
        // 11 Nov: SpO2 85 % but only two readings, glucose exactly 54, resting HR exactly
        // 100: nothing fires.
        spot("OXYGEN_SATURATION", 85.0, 11, 1),
        spot("OXYGEN_SATURATION", 97.0, 11, 2),
        spot("BLOOD_GLUCOSE", 54.0, 11, 8),
        spot("RESTING_HEART_RATE", 100.0, 11, 7),
        // 12 Nov: glucose 251 fires high; 13 Nov: exactly 250 does not.
        spot("BLOOD_GLUCOSE", 251.0, 12, 20),
        spot("BLOOD_GLUCOSE", 250.0, 13, 9),
    ];
    let accepted = at(13, 12);
    p.record(pipeline, samples, accepted).await;
    (p, vec![low_glucose], accepted)
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_fire_above_threshold_and_coverage_and_resolve_when_the_data_goes() {
    let pipeline = start().await;
    let (p, low_glucose, accepted) = alert_history(&pipeline).await;
    pipeline.settle().await;
    assert_eq!(
        insights(&pipeline, p.user()).await,
        vec![
            "HIGH_GLUCOSE/2026-11-12 warning active up",
            "HIGH_RESTING_HEART_RATE/2026-11-10 warning active up",
            "LOW_GLUCOSE/2026-11-10 critical active down",
            "LOW_OXYGEN/2026-11-10 warning active down",
        ]
    );

    // The low reading is deleted: its day has no glucose row any more and the alert resolves.
    let deleted = SamplesDeleted {
        event_id: Uuid::new_v4().to_string(),
        user_id: p.user().into(),
        sample_ids: low_glucose.iter().map(|s| s.sample_id.clone()).collect(),
        deleted_at: accepted.timestamp_micros(),
    };
    let later = accepted + chrono::TimeDelta::hours(1);
    pipeline
        .append(&pipeline.topics.user_events, p.user(), &deleted, later)
        .await;
    pipeline.settle().await;
    let now = insights(&pipeline, p.user()).await;
    assert!(
        now.contains(&"LOW_GLUCOSE/2026-11-10 critical resolved down".to_string()),
        "{now:?}"
    );

    // Every version is on the insights topic, the resolution last for its insight.
    let published = read_insight_events(&pipeline, p.user(), 5).await;
    let glucose: Vec<&str> = published
        .iter()
        .filter(|e| e.rule_key == "LOW_GLUCOSE/2026-11-10")
        .map(|e| e.status.as_str())
        .collect();
    assert_eq!(glucose, vec!["active", "resolved"]);
    let raised_at = published
        .iter()
        .find(|e| e.status == "resolved")
        .unwrap()
        .raised_at;
    assert_eq!(
        raised_at,
        later.timestamp_micros(),
        "event time, not wall clock"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledgement_through_the_api_reaches_the_insight() {
    let pipeline = start().await;
    let (p, _, _) = alert_history(&pipeline).await;
    pipeline.settle().await;
    let list = |unread: &'static str| {
        let session = &p.session;
        async move {
            let body: serde_json::Value = session
                .get(&format!("/api/v1/insights?unread={unread}"))
                .await
                .json()
                .await
                .unwrap();
            body["insights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["type"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("true").await.len(), 4);
    assert!(list("false").await.is_empty());
    let all: serde_json::Value = p
        .session
        .get("/api/v1/insights")
        .await
        .json()
        .await
        .unwrap();
    let oxygen = all["insights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "LOW_OXYGEN")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = p
        .session
        .post(
            &format!("/api/v1/insights/{oxygen}/acknowledge"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    pipeline
        .wait_for_sql(
            &format!("SELECT count(*) FROM insight_acknowledgements WHERE insight_id = '{oxygen}'"),
            "1",
        )
        .await;
    assert_eq!(list("false").await, vec!["LOW_OXYGEN"]);
    assert_eq!(list("true").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn heart_rate_trend_over_gaps_and_short_sleep_need_their_minimum_data() {
    let pipeline = start().await;
    let ny = chrono_tz::America::New_York;
    let enough = Person::new(&pipeline, ny).await;
    let too_little = Person::new(&pipeline, ny).await;
    // Resting heart rate rising 1 bpm a day, on 8 days with gaps (1 Nov is the day US clocks
    // go back); the other user has the same trend on 6 days only.
    let days = [1, 3, 4, 8, 10, 13, 15, 19];
    let nights = [15, 16, 17, 18, 19];
    // As of 20 Nov, 10:00 in New York: nights up to the one ending at noon on the 19th are
    // complete.
    let accepted = enough.local(2026, 11, 20, 10, 0);
    for (person, rhr_days, sleep_nights) in [
        (&enough, &days[..], &nights[..]),
        (&too_little, &days[2..], &nights[1..]),
    ] {
        let mut samples = Vec::new();
        for &d in rhr_days {
            let t = person.local(2026, 11, d, 8, 0);
            samples.push(person.sample("RESTING_HEART_RATE", 59.0 + f64::from(d), t, t));
        }
        // Five hours a night, from 23:00 to 04:00: one night across midnight.
        for &d in sleep_nights {
            let start = person.local(2026, 11, d - 1, 23, 0);
            let end = person.local(2026, 11, d, 4, 0);
            samples.push(person.sample("SLEEP_ANALYSIS", 300.0, start, end));
        }
        person.record(&pipeline, samples, accepted).await;
    }
    pipeline.settle().await;
    assert_eq!(
        insights(&pipeline, enough.user()).await,
        vec![
            "HEART_RATE_TREND/rising warning active up",
            "SHORT_SLEEP/rolling warning active",
        ]
    );
    assert_eq!(
        insights(&pipeline, too_little.user()).await,
        Vec::<String>::new()
    );

    let client = connect(&pipeline.database_url).await;
    let data: serde_json::Value = client
        .query_one(
            "SELECT data FROM insights WHERE user_id = $1::text::uuid AND insight_type = 'HEART_RATE_TREND'",
            &[&enough.user()],
        )
        .await
        .unwrap()
        .get(0);
    let slope = data["slope_bpm_per_day"]
        .as_f64()
        .or_else(|| data["slope"].as_f64())
        .unwrap_or_else(|| panic!("no slope in {data}"));
    assert!(
        (slope - 1.0).abs() < 1e-9,
        "slope over the real day offsets: {data}"
    );
}

/// Four weeks of 10,000 steps a day (the last one is the week Berlin's clocks went back, with
/// its Sunday's walk late in the evening), then a Monday and Tuesday of `this_week` steps each,
/// accepted on Wednesday 28 October at 09:00 (two complete days of the week elapsed).
async fn activity_history(pipeline: &Pipeline, this_week: f64) -> (Person, DateTime<Utc>) {
    activity_history_accepted(pipeline, this_week, (10, 28, 9)).await
}

async fn activity_history_accepted(
    pipeline: &Pipeline,
    this_week: f64,
    (month, day, hour): (u32, u32, u32),
) -> (Person, DateTime<Utc>) {
    let p = Person::new(pipeline, chrono_tz::Europe::Berlin).await;
    let mut samples = Vec::new();
    let first = NaiveDate::from_ymd_opt(2026, 9, 28).unwrap();
    for i in 0..30 {
        let day = first + chrono::TimeDelta::days(i);
        let (y, m, d) = (
            chrono::Datelike::year(&day),
            chrono::Datelike::month(&day),
            chrono::Datelike::day(&day),
        );
        let value = if i < 28 { 10_000.0 } else { this_week };
        let hour = if (m, d) == (10, 25) { 23 } else { 12 };
        let start = p.local(y, m, d, hour, 0);
        let end = p.local(y, m, d, hour, 30);
        samples.push(p.sample("STEPS", value, start, end));
    }
    let accepted = p.local(2026, month, day, hour, 0);
    p.record(pipeline, samples, accepted).await;
    (p, accepted)
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_change_in_a_dst_week_and_after_a_time_zone_change() {
    let pipeline = start().await;
    let (dropped, accepted) = activity_history(&pipeline, 6_000.0).await;
    let (steady, _) = activity_history(&pipeline, 9_000.0).await;
    pipeline.settle().await;
    // 12,000 steps against 20,000 pro-rated (-40 %) fires; 18,000 (-10 %) does not.
    assert_eq!(
        insights(&pipeline, dropped.user()).await,
        vec!["ACTIVITY_CHANGE/2026-W44 info active down"]
    );
    assert_eq!(
        insights(&pipeline, steady.user()).await,
        Vec::<String>::new()
    );

    // In Tokyo the late Sunday walk falls on Monday: this week has 22,000 steps against
    // 19,286 pro-rated (+14 %), so the drop is resolved.
    let changed = UserTimeZoneChanged {
        event_id: Uuid::new_v4().to_string(),
        user_id: dropped.user().into(),
        timezone: "Asia/Tokyo".into(),
        previous_timezone: "Europe/Berlin".into(),
        changed_at: accepted.timestamp_micros(),
    };
    pipeline
        .append(
            &pipeline.topics.user_events,
            dropped.user(),
            &changed,
            accepted + chrono::TimeDelta::hours(1),
        )
        .await;
    pipeline.settle().await;
    assert_eq!(
        insights(&pipeline, dropped.user()).await,
        vec!["ACTIVITY_CHANGE/2026-W44 info resolved down"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_tick_evaluates_calendar_rules_once_the_local_day_turns() {
    let pipeline = start().await;
    // Accepted on Tuesday evening: ACTIVITY_CHANGE waits for the third day of the week.
    let (p, _) = activity_history_accepted(&pipeline, 6_000.0, (10, 27, 20)).await;
    pipeline.settle().await;
    assert_eq!(insights(&pipeline, p.user()).await, Vec::<String>::new());

    let ticker = healthpipe_processors::insights::ticker::Ticker::new(&pipeline.insights_config())
        .expect("ticker");
    // 23:30 on Tuesday in Berlin: the day has not turned yet.
    let tuesday_night = p.local(2026, 10, 27, 23, 30);
    assert_eq!(ticker.tick_due(tuesday_night).await.unwrap(), 0);
    // 00:30 on Wednesday: one tick, and only one however often the ticker looks.
    let wednesday = p.local(2026, 10, 28, 0, 30);
    assert_eq!(ticker.tick_due(wednesday).await.unwrap(), 1);
    assert_eq!(ticker.tick_due(wednesday).await.unwrap(), 0);
    pipeline.settle().await;
    assert_eq!(
        insights(&pipeline, p.user()).await,
        vec!["ACTIVITY_CHANGE/2026-W44 info active down"]
    );
    let client = connect(&pipeline.database_url).await;
    let created: DateTime<Utc> = client
        .query_one(
            "SELECT created_at FROM insights WHERE user_id = $1::text::uuid",
            &[&p.user()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        created,
        p.local(2026, 10, 28, 0, 0),
        "as of the local midnight"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_into_an_empty_database_gives_the_same_insights_and_acknowledgements() {
    let pipeline = start().await;
    let (p, _, accepted) = alert_history(&pipeline).await;
    let (walker, _) = activity_history(&pipeline, 6_000.0).await;
    pipeline.settle().await;
    let client = connect(&pipeline.database_url).await;
    let oxygen: Uuid = client
        .query_one(
            "SELECT insight_id FROM insights WHERE user_id = $1::text::uuid AND insight_type = 'LOW_OXYGEN'",
            &[&p.user()],
        )
        .await
        .unwrap()
        .get(0);
    let ack = InsightAcknowledged {
        event_id: Uuid::new_v4().to_string(),
        user_id: p.user().into(),
        insight_id: oxygen.to_string(),
        acknowledged_at: accepted.timestamp_micros(),
    };
    pipeline
        .append(&pipeline.topics.user_events, p.user(), &ack, accepted)
        .await;
    pipeline.settle().await;
    let original = checksums(&pipeline.database_url).await;
    assert_eq!(original.len(), 3);
    let acks: i64 = client
        .query_one("SELECT count(*) FROM insight_acknowledgements", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(acks, 1);
    assert!(!insights(&pipeline, walker.user()).await.is_empty());

    // Rebuild: fresh groups into an empty database; the aggregation processor does not
    // announce again (the topic already holds its announcements), the insights processor
    // replays them from offset 0.
    let replay_db = scratch_database().await;
    healthpipe_storage::migrations::run(&replay_db)
        .await
        .unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let aggregation = healthpipe_processors::ProcessorConfig {
        database_url: replay_db.clone(),
        // The key store is not a projection: the replay reads the live one.
        key_store_url: Some(pipeline.database_url.clone()),
        group_id: unique("replay-aggregation"),
        batch_max_messages: 3,
        announce_changes: false,
        ..pipeline.processor_config()
    };
    let insights_config = healthpipe_processors::ProcessorConfig {
        database_url: replay_db.clone(),
        key_store_url: Some(pipeline.database_url.clone()),
        group_id: unique("replay-insights"),
        batch_max_messages: 2,
        ..pipeline.insights_config()
    };
    for (config, insights) in [
        (aggregation.clone(), false),
        (insights_config.clone(), true),
    ] {
        let token = token.child_token();
        tokio::spawn(async move {
            if insights {
                healthpipe_processors::run_insights(config, token).await
            } else {
                healthpipe_processors::run_aggregation(config, token).await
            }
            .expect("replay processor");
        });
    }
    for (topic, group) in [
        (&pipeline.topics.user_events, &aggregation.group_id),
        (
            &pipeline.topics.aggregates_updated,
            &insights_config.group_id,
        ),
    ] {
        healthpipe::progress::wait_until_caught_up(
            &replay_db,
            &pipeline.kafka_brokers,
            topic,
            group,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    }
    token.cancel();
    assert_eq!(checksums(&replay_db).await, original);
}

/// md5 of the insights tables, rows in a fixed order.
async fn checksums(url: &str) -> Vec<String> {
    let client = connect(url).await;
    let mut out = Vec::new();
    for (table, order) in [
        ("insights", "user_id, insight_id"),
        ("insight_acknowledgements", "user_id, insight_id"),
        (
            "insight_inputs",
            "user_id, sample_type, period, period_start",
        ),
    ] {
        let sql = format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY {order})), '') FROM {table} t"
        );
        out.push(format!(
            "{table} {}",
            client
                .query_one(&sql, &[])
                .await
                .unwrap()
                .get::<_, String>(0)
        ));
    }
    out
}

/// The `InsightRaised` events of `user` on the insights topic (at least `expected`).
async fn read_insight_events(
    pipeline: &Pipeline,
    user: &str,
    expected: usize,
) -> Vec<InsightRaised> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &pipeline.kafka_brokers)
        .set("group.id", unique("read-insights"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&pipeline.topics.insights]).unwrap();
    let codec = healthpipe_schemas::EventCodec::new(&pipeline.registry_url);
    let mut ring = healthpipe_crypto::Keyring::default();
    let key = pipeline.data_key(user.parse().expect("a user id")).await;
    ring.insert(user.to_string(), Some(key));
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while out.len() < expected {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .expect("insight events arrive")
            .unwrap();
        if message.key() != Some(user.as_bytes()) {
            continue;
        }
        let opened = codec
            .decode::<InsightRaised>(message.payload().unwrap(), &ring)
            .await
            .unwrap();
        let healthpipe_schemas::Opened::Event(event) = opened else {
            panic!("the user's key is there");
        };
        out.push(event);
    }
    out
}
