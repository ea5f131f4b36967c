//! A replay: processors reading topics from the start into an empty database, their keys
//! from the live key store. Projections are a pure function of the log: tests compare what
//! a replay builds with the live tables.

use healthpipe_schemas::Topics;
use tokio_util::sync::CancellationToken;

use super::{scratch_database, unique, Pipeline};

/// The processors replaying `topics` from the start into an empty database, their keys
/// from the pipeline's key store.
pub struct Replay {
    pub database_url: String,
    token: CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Replay {
    pub async fn start(pipeline: &Pipeline, topics: &Topics, insights_too: bool) -> Replay {
        let database_url = scratch_database().await;
        healthpipe_storage::migrations::run(&database_url)
            .await
            .unwrap();
        let token = CancellationToken::new();
        let mut handles = Vec::new();
        let mut processors = vec![(pipeline.processor_config(), false)];
        if insights_too {
            processors.push((pipeline.insights_config(), true));
        }
        for (config, insights) in processors {
            let config = healthpipe_processors::ProcessorConfig {
                database_url: database_url.clone(),
                key_store_url: Some(pipeline.database_url.clone()),
                group_id: unique("replay"),
                announce_changes: false,
                topics: topics.clone(),
                ..config
            };
            let token = token.child_token();
            handles.push(tokio::spawn(async move {
                let run = if insights {
                    healthpipe_processors::run_insights(config, token).await
                } else {
                    healthpipe_processors::run_aggregation(config, token).await
                };
                run.expect("replay processor");
            }));
        }
        Replay {
            database_url,
            token,
            handles,
        }
    }

    pub async fn stop(self) {
        self.token.cancel();
        for handle in self.handles {
            handle.await.unwrap();
        }
    }
}
