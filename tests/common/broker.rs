//! A Kafka broker of the test's own (KRaft, one node, from the jars the stack installed), on
//! free loopback ports and in a scratch folder: the fault tests pause and kill it, which
//! they must never do to the stack's shared broker. Dropped, it is killed and its folder
//! removed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{repo_root, stack};

pub struct OwnedBroker {
    pub brokers: String,
    dir: PathBuf,
    child: Child,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl OwnedBroker {
    /// Formats a fresh log folder and starts the broker; waits until it answers.
    pub fn start() -> OwnedBroker {
        let home = stack()
            .vars
            .get("KAFKA_HOME")
            .cloned()
            .expect("KAFKA_HOME in .stack/env (scripts/stack up installs Kafka)");
        let root = repo_root();
        let dir = std::env::temp_dir().join(format!("hp-broker-{}", uuid::Uuid::new_v4()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("broker folder");
        let (port, controller) = (free_port(), free_port());
        let template = std::fs::read_to_string(root.join("stack/kafka/server.properties.in"))
            .expect("stack/kafka/server.properties.in");
        let properties = dir.join("server.properties");
        std::fs::write(
            &properties,
            template
                .replace("@DATA_DIR@", &data.display().to_string())
                .replace("@KAFKA_PORT@", &port.to_string())
                .replace("@CONTROLLER_PORT@", &controller.to_string()),
        )
        .expect("write server.properties");
        let java = |args: &[&str]| {
            let mut command = Command::new("java");
            command
                .arg("-Xms256m")
                .arg("-Xmx512m")
                .arg(format!(
                    "-Dlog4j2.configurationFile={}",
                    root.join("stack/kafka/log4j2.properties").display()
                ))
                .arg(format!("-Dkafka.logs.dir={}", dir.display()))
                .arg("-cp")
                .arg(format!("{home}/libs/*"))
                .args(args);
            command
        };
        let cluster = java(&["kafka.tools.StorageTool", "random-uuid"])
            .output()
            .expect("run kafka's StorageTool");
        let cluster = String::from_utf8_lossy(&cluster.stdout).trim().to_string();
        let formatted = java(&["kafka.tools.StorageTool", "format", "--standalone", "-t"])
            .arg(&cluster)
            .arg("-c")
            .arg(&properties)
            .stdout(Stdio::null())
            .status()
            .expect("format the broker's storage");
        assert!(formatted.success(), "kafka storage format failed");
        let out = std::fs::File::create(dir.join("kafka.out")).expect("broker output file");
        let child = java(&["kafka.Kafka"])
            .arg(&properties)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start the test's broker");
        let broker = OwnedBroker {
            brokers: format!("127.0.0.1:{port}"),
            dir,
            child,
        };
        broker.wait_until_answering(Duration::from_secs(90));
        broker
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Freezes the broker (SIGSTOP): what a long GC pause or a network partition looks like
    /// to its clients.
    pub fn pause(&self) {
        signal("STOP", self.pid());
    }

    /// Lets a paused broker go on (SIGCONT).
    pub fn resume(&self) {
        signal("CONT", self.pid());
    }

    fn wait_until_answering(&self, timeout: Duration) {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .expect("metadata client");
        let deadline = Instant::now() + timeout;
        while consumer
            .fetch_metadata(None, Duration::from_secs(2))
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the test's broker did not answer within {timeout:?}; see {}",
                self.dir.join("kafka.out").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for OwnedBroker {
    fn drop(&mut self) {
        signal("CONT", self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `SIG<name>` to `pid` (a process this test started).
pub fn signal(name: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}
