//! The deployment, checked on this machine: the registry's writes on their own listener,
//! every service under its own least-privilege database role (`k8s/database-roles.sql`),
//! the binary run the way the image runs it (uid 10001, no capabilities, a read-only root
//! holding nothing but itself and its libraries), and `scripts/check-deploy` failing loudly
//! on a broken manifest.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::query::{get_json, sync};
use common::services::Service;
use common::{repo_root, scratch_database, stack, superuser_sql, unique, Pipeline};
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tokio_util::sync::CancellationToken;

/// A record schema for the registry tests.
fn record(field: &str) -> String {
    json!({"type": "record", "name": "Probe", "namespace": "t",
           "fields": [{"name": field, "type": ["null", "string"], "default": null}]})
    .to_string()
}

/// A scratch folder for services' logs, named after the test.
fn logs(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).expect("a log folder");
    dir
}

async fn send(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method.parse().unwrap(), url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the registry answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

#[tokio::test]
async fn the_registry_takes_writes_only_on_its_admin_listener() {
    let http = reqwest::Client::new();
    let database_url = scratch_database().await;
    let logs = logs("registry-split");
    let (registry, admin) =
        Service::split_registry(&[("DATABASE_URL", &database_url)], &logs, &http).await;
    let read = registry.url.clone();

    // A new schema on the read listener: refused, saying where writes go.
    let path = "/subjects/probe-value/versions";
    let (status, body) = send(
        &http,
        "POST",
        &format!("{read}{path}"),
        Some(json!({"schema": record("a")})),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["error_code"], 405, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("REGISTRY_ADMIN_ADDR"), "{message}");
    let (status, _) = send(&http, "GET", &format!("{read}/subjects"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        send(&http, "GET", &format!("{read}/subjects"), None)
            .await
            .1,
        json!([]),
        "nothing was written"
    );

    // The same request on the admin listener registers it.
    let (status, body) = send(
        &http,
        "POST",
        &format!("{admin}{path}"),
        Some(json!({"schema": record("a")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().expect("an id");

    // Now known, the read listener answers it with its id (what a producer's serializer
    // asks on its first message), and still refuses a schema it does not have.
    let (status, body) = send(
        &http,
        "POST",
        &format!("{read}{path}"),
        Some(json!({"schema": record("a")})),
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(id)), "{body}");
    let (status, _) = send(
        &http,
        "POST",
        &format!("{read}{path}"),
        Some(json!({"schema": record("b")})),
    )
    .await;
    assert_eq!(status, 405);
    let (_, versions) = send(&http, "GET", &format!("{read}{path}"), None).await;
    assert_eq!(versions, json!([1]));
    // Lookups and compatibility checks are reads.
    let (status, body) = send(
        &http,
        "POST",
        &format!("{read}/subjects/probe-value"),
        Some(json!({"schema": record("a")})),
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(id)), "{body}");
    let (status, body) = send(
        &http,
        "POST",
        &format!("{read}/compatibility/subjects/probe-value/versions/latest"),
        Some(json!({"schema": record("b")})),
    )
    .await;
    assert_eq!((status, &body["is_compatible"]), (200, &json!(true)));

    // Compatibility levels: read anywhere, set on the admin listener only.
    for url in [
        format!("{read}/config"),
        format!("{read}/config/probe-value"),
    ] {
        let (status, body) = send(&http, "PUT", &url, Some(json!({"compatibility": "NONE"}))).await;
        assert_eq!(status, 405, "{url}: {body}");
    }
    let (status, _) = send(
        &http,
        "PUT",
        &format!("{admin}/config"),
        Some(json!({"compatibility": "FULL"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, level) = send(&http, "GET", &format!("{read}/config"), None).await;
    assert_eq!(level, json!({"compatibilityLevel": "FULL"}));

    // Both listeners answer the probes.
    for base in [&read, &admin] {
        for probe in ["healthz", "readyz"] {
            let (status, body) = send(&http, "GET", &format!("{base}/{probe}"), None).await;
            assert_eq!(status, 200, "{base}/{probe}: {body}");
        }
    }
    drop(registry);
    let _ = std::fs::remove_dir_all(logs);
}

/// The login roles of one test run (roles are cluster-wide: names unique per run), and
/// the database they work in; both dropped with it, whether the test passed or not.
struct Roles {
    run: String,
    password: String,
    database: String,
}

impl Roles {
    fn new(database: &str) -> Roles {
        Roles {
            run: unique("hp_roles"),
            password: unique("pw"),
            database: database.to_string(),
        }
    }

    fn name(&self, service: &str) -> String {
        format!("{}_{service}", self.run)
    }

    /// `url` logging in as `service`'s role.
    fn url(&self, url: &str, service: &str) -> String {
        let mut url = reqwest::Url::parse(url).expect("a database URL");
        url.set_username(&self.name(service)).unwrap();
        url.set_password(Some(&self.password)).unwrap();
        url.to_string()
    }

    /// Applies `k8s/database-roles.sql` with psql as `admin_url`'s user; psql's output.
    fn apply(&self, admin_url: &str) -> String {
        let mut command = Command::new("psql");
        command
            .arg(admin_url)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        for service in ["gateway", "processor", "registry", "migrator"] {
            command
                .arg("-v")
                .arg(format!("{service}_role={}", self.name(service)))
                .arg("-v")
                .arg(format!("{service}_password={}", self.password));
        }
        let output = command
            .arg("-f")
            .arg(repo_root().join("k8s/database-roles.sql"))
            .output()
            .expect("psql runs (the postgresql-client package)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "database-roles.sql failed:\n{text}"
        );
        text
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let roles = ["gateway", "processor", "registry", "migrator", "admin"]
            .map(|service| format!("DROP ROLE IF EXISTS {};", self.name(service)))
            .join("\n");
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE);\n{roles}",
            self.database
        );
        if let Err(output) = common::try_superuser_sql("postgres", &sql) {
            eprintln!("could not drop the test's database and roles: {output}");
        }
    }
}

/// Asserts that `url`'s role may not run `statement`: SQLSTATE 42501.
async fn refused(url: &str, statement: &str) {
    let (client, connection) =
        tokio_postgres::connect(url, healthpipe_storage::pool::tls().expect("TLS connector"))
            .await
            .expect("the role logs in");
    tokio::spawn(connection);
    match client.batch_execute(statement).await {
        Ok(()) => panic!("`{statement}` was allowed"),
        Err(e) => assert_eq!(
            e.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "`{statement}`: {e}"
        ),
    }
}

/// The database name of a URL.
fn database_name(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("a database URL");
    url.path().trim_start_matches('/').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_service_runs_under_a_role_granted_only_what_it_needs() {
    let http = reqwest::Client::new();
    let owner_url = scratch_database().await;
    let database = database_name(&owner_url);
    let roles = Roles::new(&database);
    // The administrator as a managed PostgreSQL has one: owns the database, may create
    // roles, is no superuser.
    let admin = roles.name("admin");
    superuser_sql(
        "postgres",
        &format!(
            "CREATE ROLE {admin} LOGIN CREATEROLE PASSWORD '{}';\n\
             ALTER DATABASE {database} OWNER TO {admin};",
            roles.password
        ),
    );
    let admin_url = roles.url(&owner_url, "admin");

    // Before the migration: the roles, and no table to grant yet.
    let output = roles.apply(&admin_url);
    assert!(output.contains("no tables yet"), "{output}");

    // The registry under its role, its writes on the admin listener.
    let logs = logs("roles");
    let registry_db = roles.url(&owner_url, "registry");
    let (registry, registry_admin) =
        Service::split_registry(&[("DATABASE_URL", &registry_db)], &logs, &http).await;

    // The migration job as the migrator: schema, topics, and every event schema registered.
    let migrated = Command::new(common::services::binary())
        .arg("migrate")
        .env("DATABASE_URL", roles.url(&owner_url, "migrator"))
        .env("KAFKA_BROKERS", &stack().kafka_brokers)
        .env("TOPIC_PREFIX", &roles.run)
        .env("SCHEMA_REGISTRY_URL", &registry.url)
        .env("SCHEMA_REGISTRY_ADMIN_URL", &registry_admin)
        .output()
        .expect("healthpipe migrate runs");
    let out = String::from_utf8_lossy(&migrated.stdout);
    assert!(
        migrated.status.success(),
        "migrate: {out}{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(out.contains("event schemas registered"), "{out}");

    // After it: the table grants.
    let output = roles.apply(&admin_url);
    assert!(!output.contains("no tables yet"), "{output}");

    // The gateway and both processors under their roles, on the registry's read listener
    // only: whatever they write must have been registered by the migration.
    let mut pipeline = Pipeline::existing(
        &admin_url,
        &stack().kafka_brokers,
        &registry.url,
        &roles.run,
    );
    let gateway = healthpipe_gateway::GatewayConfig {
        database_url: roles.url(&owner_url, "gateway"),
        ..pipeline.gateway_config()
    };
    pipeline.base_url = pipeline.start_gateway_with(gateway).await;
    let stop = CancellationToken::new();
    let processor_db = roles.url(&owner_url, "processor");
    let aggregation = healthpipe_processors::ProcessorConfig {
        database_url: processor_db.clone(),
        ..pipeline.processor_config()
    };
    let insights = healthpipe_processors::ProcessorConfig {
        database_url: processor_db.clone(),
        ..pipeline.insights_config()
    };
    let processors = [
        tokio::spawn(healthpipe_processors::run_aggregation(
            aggregation,
            stop.child_token(),
        )),
        tokio::spawn(healthpipe_processors::run_insights(
            insights,
            stop.child_token(),
        )),
    ];

    // What each must be able to do: an owner syncs, reads and shares; a clinician redeems
    // and reads the share; the owner erases the account.
    let owner = pipeline.new_user("Europe/Paris").await;
    let (doctor, doctor_email) = pipeline.new_provider("Clinic").await;
    let device = owner.device("apple_watch", &unique("watch")).await;
    sync(
        &owner,
        &device,
        vec![
            common::query::steps(
                &uuid(),
                1200.0,
                "2026-11-02T08:00:00Z",
                "2026-11-02T08:30:00Z",
            ),
            common::query::steps(
                &uuid(),
                800.0,
                "2026-11-02T18:00:00Z",
                "2026-11-02T18:30:00Z",
            ),
        ],
    )
    .await;
    pipeline.settle().await;
    let day = "type=STEPS&period=day&from=2026-11-02&to=2026-11-02";
    let aggregates = get_json(&owner, &format!("/api/v1/aggregates?{day}")).await;
    assert_eq!(aggregates[0]["value"], json!(2000.0), "{aggregates}");
    get_json(&owner, "/api/v1/insights").await;
    let samples = get_json(
        &owner,
        "/api/v1/samples?type=STEPS&from=2026-11-02&to=2026-11-02",
    )
    .await;
    assert!(samples.to_string().contains("1200"), "{samples}");

    let response = owner
        .post(
            "/api/v1/shares",
            json!({"recipient_email": doctor_email, "data_types": ["STEPS"],
                   "date_start": "2026-11-01", "date_end": "2026-11-30",
                   "expires_at": (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339(),
                   "label": "follow-up"}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    let share = created["share"]["id"].as_str().unwrap().to_string();
    let code = created["access_code"].as_str().unwrap().to_string();
    pipeline.settle_aggregation().await;
    let response = doctor
        .post("/api/v1/shared/redeem", json!({ "access_code": code }))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    pipeline.settle_aggregation().await;
    let shared = get_json(
        &doctor,
        &format!("/api/v1/shared/{share}/aggregates?type=STEPS&from=2026-11-02&to=2026-11-02"),
    )
    .await;
    assert_eq!(
        shared, aggregates,
        "the clinician reads the owner's buckets"
    );
    let log = get_json(&owner, &format!("/api/v1/shares/{share}/access-log")).await;
    assert!(!log.as_array().unwrap().is_empty(), "{log}");

    let response = pipeline
        .http
        .delete(pipeline.url("/api/v1/me"))
        .bearer_auth(&owner.token)
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "erasure: {}",
        response.status()
    );
    let user = &owner.user_id;
    pipeline
        .wait_for_sql(
            &format!(
                "SELECT (SELECT count(*) FROM samples WHERE user_id = '{user}') \
                      + (SELECT count(*) FROM aggregates WHERE user_id = '{user}') \
                      + (SELECT count(*) FROM share_grants WHERE user_id = '{user}')"
            ),
            "0",
        )
        .await;
    for processor in &processors {
        assert!(
            !processor.is_finished(),
            "a processor stopped: see its error above"
        );
    }

    // And nothing else: each role is refused what belongs to the others.
    let gateway_db = roles.url(&owner_url, "gateway");
    for statement in [
        "UPDATE samples SET value = 0",
        "DELETE FROM aggregates",
        "SELECT * FROM day_partials",
        "UPDATE consumer_offsets SET next_offset = 0",
        "UPDATE users SET password_hash = ''",
        "UPDATE user_keys SET kek_id = ''",
        "SELECT * FROM share_grants",
        "SELECT * FROM schema_registry.schemas",
        "CREATE TABLE gateway_table (a int)",
    ] {
        refused(&gateway_db, statement).await;
    }
    for statement in [
        "SELECT password_hash FROM users",
        "SELECT email FROM users",
        "SELECT * FROM sessions",
        "INSERT INTO user_keys (user_id, kek_id, wrapped) VALUES (gen_random_uuid(), 'k', '')",
        "SELECT * FROM share_links",
        "SELECT * FROM login_failures",
        "SELECT * FROM schema_registry.schemas",
        "CREATE TABLE processor_table (a int)",
    ] {
        refused(&processor_db, statement).await;
    }
    for statement in [
        // Schema-qualified: without USAGE on `public`, an unqualified name is not even found.
        "SELECT count(*) FROM public.samples",
        "SELECT password_hash FROM public.users",
        "CREATE SCHEMA registry_other",
    ] {
        refused(&registry_db, statement).await;
    }

    stop.cancel();
    for processor in processors {
        processor
            .await
            .expect("processor task")
            .expect("processor stops cleanly");
    }
    drop(pipeline);
    drop(registry);
    drop(roles);
    let _ = std::fs::remove_dir_all(logs);
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The shared libraries `binary` loads (absolute paths, the loader included), from `ldd`.
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd").arg(binary).output().expect("ldd runs");
    assert!(output.status.success(), "ldd {}", binary.display());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Mounts, in a mount namespace of its own, `root` read-only with each `(source, target)`
/// bound read-only inside it, then runs the command in a nested user namespace whose one
/// id is 10001, chrooted there: no capability survives the exec.
const SANDBOX: &str = r#"
set -eu
root=$1; shift
mount --bind "$root" "$root"
while [ "$1" != -- ]; do
  mount --bind "$1" "$root$2"
  mount -o remount,bind,ro "$root$2"
  shift 2
done
shift
mount -o remount,bind,ro "$root"
exec unshare --user --map-user=10001 --map-group=10001 --root="$root" "$@"
"#;

#[tokio::test]
async fn the_binary_serves_as_uid_10001_on_a_read_only_root_of_its_own() {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        probe.status.success(),
        "unprivileged user namespaces do not work here (`unshare -Urm true`: {}): this test \
         runs the binary as the image does and cannot without them",
        String::from_utf8_lossy(&probe.stderr)
    );

    // The image carries the release build of this same code; the test runs the build cargo
    // made for it (`CARGO_BIN_EXE_healthpipe`, unless HEALTHPIPE_SERVICES_BIN names another),
    // with nothing else in its root: no shell, no package manager, no /tmp.
    let binary = common::services::binary();
    let root = std::env::temp_dir().join(unique("image-root"));
    let mut mounts = vec![(binary.clone(), PathBuf::from("/usr/local/bin/healthpipe"))];
    mounts.extend(
        shared_libraries(&binary)
            .into_iter()
            .map(|l| (l.clone(), l)),
    );
    for (_, target) in &mounts {
        let inside = root.join(target.strip_prefix("/").unwrap());
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, b"").unwrap();
    }

    let database_url = scratch_database().await;
    let port = common::broker::free_port();
    let log_path = std::env::temp_dir().join(unique("image-root-log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", SANDBOX, "sandbox"])
        .arg(&root);
    for (source, target) in &mounts {
        command.arg(source).arg(target);
    }
    let mut child = command
        .args(["--", "/usr/local/bin/healthpipe", "registry"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("DATABASE_URL", &database_url)
        .env("REGISTRY_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("unshare starts");

    // It serves.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status() == 200) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the sandboxed registry exited ({status}): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the sandboxed registry did not answer /readyz within 30 s: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let healthz = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);

    // The serving process is the one started (each step exec'd the next): its only user id
    // is 10001, it holds no capability, and its root is read-only, even to the host's root.
    let proc = PathBuf::from(format!("/proc/{}", child.id()));
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap();
    assert!(
        cmdline.starts_with(b"/usr/local/bin/healthpipe\0registry"),
        "{}",
        String::from_utf8_lossy(&cmdline)
    );
    let uid_map = std::fs::read_to_string(proc.join("uid_map")).unwrap();
    let ids: Vec<Vec<&str>> = uid_map
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        ids.len() == 1 && ids[0][0] == "10001" && ids[0][2] == "1",
        "uid_map: {uid_map}"
    );
    let status = std::fs::read_to_string(proc.join("status")).unwrap();
    for line in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{line}:")))
            .unwrap_or_else(|| panic!("{line} in {status}"));
        assert_eq!(value.trim(), "0000000000000000", "{line}");
    }
    let mountinfo = std::fs::read_to_string(proc.join("mountinfo")).unwrap();
    let root_mount = mountinfo
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no root in {mountinfo}"));
    let options = root_mount.split_whitespace().nth(5).unwrap();
    assert!(options.split(',').any(|o| o == "ro"), "{root_mount}");
    let write = std::fs::write(proc.join("root/written-at-runtime"), b"x");
    assert_eq!(
        write.as_ref().map_err(|e| e.raw_os_error()),
        Err(Some(30)),
        "writing to its root: {write:?} (30 is EROFS)"
    );
    let mut entries: Vec<String> = std::fs::read_dir(proc.join("root"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["lib", "lib64", "usr"], "nothing else in its root");

    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&log_path);
}

/// Runs `scripts/check-deploy` on the manifests folder `k8s`; its status and output.
fn check_deploy(k8s: &Path) -> (bool, String) {
    let python = std::env::var("HEALTHPIPE_PYTHON").expect(
        "HEALTHPIPE_PYTHON: the venv of tests/clients/install, with check-deploy's tools \
         (scripts/test sets it)",
    );
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/check-deploy"))
        .arg(k8s)
        .env("HEALTHPIPE_PYTHON", python)
        .output()
        .expect("scripts/check-deploy runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A copy of k8s/ in a scratch folder. The Grafana dashboard is stood in for when the
/// checkout has none yet (tests/dashboard.rs checks the real one; here only its presence
/// matters).
fn manifests_copy() -> PathBuf {
    let copy = std::env::temp_dir().join(unique("k8s"));
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("k8s"))
        .arg(&copy)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying k8s/");
    let dashboard = copy.join("grafana-dashboard.json");
    if !dashboard.exists() {
        std::fs::write(&dashboard, r#"{"title": "stand-in"}"#).unwrap();
    }
    copy
}

/// [`manifests_copy`] with `file` changed by `change`.
fn manifests_with(file: &str, change: impl FnOnce(String) -> String) -> PathBuf {
    let copy = manifests_copy();
    let path = copy.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let changed = change(text.clone());
    assert_ne!(changed, text, "the change to {file} changed nothing");
    std::fs::write(&path, changed).unwrap();
    copy
}

/// A file of k8s/, how to break it, and what check-deploy says about it.
type Break = (&'static str, fn(String) -> String, &'static str);

#[test]
fn check_deploy_passes_the_manifests_and_fails_loudly_on_every_kind_of_break() {
    let copy = manifests_copy();
    let (ok, output) = check_deploy(&copy);
    assert!(ok, "the manifests as they are: {output}");
    assert!(output.contains("objects valid"), "{output}");
    let _ = std::fs::remove_dir_all(&copy);

    let breaks: [Break; 7] = [
        // A field the KEDA CRD does not declare (the API server would drop it).
        (
            "aggregation.yaml",
            |t| {
                t.replace(
                    "  cooldownPeriod: 300",
                    "  cooldownPeriod: 300\n  cooldown: 300",
                )
            },
            "crds/keda.sh_scaledobjects.yaml: spec: Additional properties",
        ),
        // A number where the CRD wants a string.
        (
            "insights.yaml",
            |t| t.replace(r#"threshold: "5000""#, "threshold: 5000"),
            "threshold: 5000 is not of type 'string'",
        ),
        // An API version the vendored Strimzi CRD does not serve.
        (
            "kafka-topics.yaml",
            |t| t.replacen("kafka.strimzi.io/v1\n", "kafka.strimzi.io/v1beta2\n", 1),
            "kafka.strimzi.io/v1beta2 is not a version of KafkaTopic",
        ),
        // A misspelt field of a built-in kind.
        (
            "gateway.yaml",
            |t| t.replace("terminationGracePeriodSeconds", "terminationGracePeriod"),
            "'terminationGracePeriod' was unexpected",
        ),
        // A resource that is not there.
        (
            "kustomization.yaml",
            |t| t.replace("  - cronjobs.yaml", "  - cronjobs.yaml\n  - missing.yaml"),
            "resource missing.yaml does not exist",
        ),
        // A writable root file system.
        (
            "registry.yaml",
            |t| {
                t.replacen(
                    "readOnlyRootFilesystem: true",
                    "readOnlyRootFilesystem: false",
                    1,
                )
            },
            "securityContext.readOnlyRootFilesystem must be true",
        ),
        // An image that is not the workspace's version.
        (
            "migrate-job.yaml",
            |t| {
                t.replace(
                    "healthpipe/healthpipe:0.1.0",
                    "healthpipe/healthpipe:latest",
                )
            },
            "image 'healthpipe/healthpipe:latest'",
        ),
    ];
    for (file, change, expected) in breaks {
        let copy = manifests_with(file, change);
        let (ok, output) = check_deploy(&copy);
        assert!(!ok, "{file} broken, check-deploy passed: {output}");
        assert!(
            output.contains(expected),
            "{file}: expected {expected:?} in: {output}"
        );
        let _ = std::fs::remove_dir_all(&copy);
    }
}
