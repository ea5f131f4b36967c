//! Lanes: batches of different partitions applied side by side, each in its own transaction
//! on its own connection.
//!
//! Applying a batch takes turns between the processor (decoding, planning, aggregating) and
//! PostgreSQL (writing, reading back): one batch at a time leaves each side idle half the
//! time. The consumer loop deals every collected batch out by partition; a partition always
//! goes to the same lane, so its messages are applied in log order, and users never meet
//! across lanes (every topic is keyed by user). Exactness does not depend on lanes: each
//! transaction still locks and advances its partitions' stored offsets.
//!
//! Each lane holds at most one batch being applied and one waiting, so a slow lane holds the
//! consumer back (backpressure) instead of queueing without bound. Parts that queued while a
//! lane was busy are applied together, up to the batch size.

use std::sync::Arc;

use rdkafka::message::{Message, OwnedMessage};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::consumer::ProcessorConsumer;
use super::offsets;
use super::runner::Runner;
use crate::error::ProcessorError;
use crate::projection::Projection;

/// The running lanes of one consumer.
pub struct Lanes {
    queues: Vec<mpsc::Sender<Vec<OwnedMessage>>>,
    tasks: Vec<JoinHandle<Result<(), ProcessorError>>>,
}

/// What every lane shares.
pub struct Shared<P> {
    pub consumer: Arc<ProcessorConsumer>,
    pub runner: Arc<Runner<P>>,
    pub max_messages: usize,
    /// Cancelled on shutdown, or by a lane whose batch failed fatally: lanes then start no
    /// further batch, and the consumer loop stops collecting.
    pub stop: CancellationToken,
    /// Interrupts a batch's retries (see [`Runner::settle`]).
    pub shutdown: CancellationToken,
}

impl Lanes {
    /// Starts `count` lanes (at least one).
    pub fn start<P: Projection + 'static>(count: usize, shared: Shared<P>) -> Self {
        let shared = Arc::new(shared);
        let (queues, tasks) = (0..count.max(1))
            .map(|_| {
                let (queue, waiting) = mpsc::channel(1);
                (queue, tokio::spawn(run(waiting, shared.clone())))
            })
            .unzip();
        Self { queues, tasks }
    }

    /// Hands each lane its partitions' part of `batch`, waiting while a lane is still busy
    /// with the part before. A lane that has ended (fatally) takes nothing more; its error
    /// comes from [`Self::finish`].
    pub async fn deal(&self, batch: Vec<OwnedMessage>) {
        for (queue, part) in self.queues.iter().zip(by_lane(batch, self.queues.len())) {
            if !part.is_empty() {
                let _ = queue.send(part).await;
            }
        }
    }

    /// Closes the lanes and waits for them: each finishes the batch in hand (and, unless
    /// stopped, the parts already dealt to it). The first fatal error, if any.
    pub async fn finish(self) -> Result<(), ProcessorError> {
        drop(self.queues);
        let mut result = Ok(());
        for task in self.tasks {
            let ended = match task.await {
                Ok(ended) => ended,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Cancelled only when the runtime itself shuts down.
                Err(_) => Ok(()),
            };
            if result.is_ok() {
                result = ended;
            }
        }
        result
    }
}

/// One lane: applies what it is dealt, in order, until its queue closes or it is stopped.
async fn run<P: Projection>(
    mut queue: mpsc::Receiver<Vec<OwnedMessage>>,
    shared: Arc<Shared<P>>,
) -> Result<(), ProcessorError> {
    let mut carried: Option<Vec<OwnedMessage>> = None;
    loop {
        let mut batch = match carried.take() {
            Some(batch) => batch,
            None => match queue.recv().await {
                Some(batch) => batch,
                None => return Ok(()),
            },
        };
        while let Ok(more) = queue.try_recv() {
            if batch.len() + more.len() > shared.max_messages {
                carried = Some(more);
                break;
            }
            batch.extend(more);
        }
        if shared.stop.is_cancelled() {
            return Ok(());
        }
        let next = offsets::next_offsets(&batch);
        if let Err(e) = shared
            .runner
            .settle(&shared.consumer, batch, &shared.shutdown)
            .await
        {
            tracing::error!(error = %e, "fatal error; stopping the processor");
            shared.stop.cancel();
            return Err(e);
        }
        offsets::commit_informational(shared.consumer.as_ref(), &next);
    }
}

/// `batch` split into `lanes` parts by partition number, each in log order. Topics that share
/// keys (the insights processor reads two topics keyed by user, with the same partition
/// count) put a user's messages of both in the same lane.
fn by_lane(batch: Vec<OwnedMessage>, lanes: usize) -> Vec<Vec<OwnedMessage>> {
    let mut parts: Vec<Vec<OwnedMessage>> = (0..lanes).map(|_| Vec::new()).collect();
    for message in batch {
        let lane = message.partition().unsigned_abs() as usize % lanes;
        parts[lane].push(message);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::test_message as message;

    #[test]
    fn a_partition_always_goes_to_the_same_lane_in_log_order() {
        let batch = vec![
            message(0, 1),
            message(3, 7),
            message(1, 4),
            message(0, 2),
            message(3, 8),
            message(2, 9),
        ];
        let parts: Vec<Vec<(i32, i64)>> = by_lane(batch, 2)
            .iter()
            .map(|p| p.iter().map(|m| (m.partition(), m.offset())).collect())
            .collect();
        assert_eq!(
            parts,
            vec![vec![(0, 1), (0, 2), (2, 9)], vec![(3, 7), (1, 4), (3, 8)]]
        );
    }

    #[test]
    fn one_lane_takes_the_whole_batch_unchanged() {
        let batch = vec![message(5, 1), message(2, 3), message(5, 2)];
        let parts = by_lane(batch, 1);
        assert_eq!(parts.len(), 1);
        let order: Vec<(i32, i64)> = parts[0]
            .iter()
            .map(|m| (m.partition(), m.offset()))
            .collect();
        assert_eq!(order, vec![(5, 1), (2, 3), (5, 2)]);
    }
}
