//! The read side. It reads only the projections the processors write, and only the caller's
//! rows: `aggregates` (`GET /api/v1/aggregates`), `samples` (`GET /api/v1/samples`, the raw
//! samples with what of each counted), `summary` (`GET /api/v1/summary`, one local day against
//! the week before), and what they share with `explain` and `insights`: `params` (parameter
//! parsing), `reader` (the connection and the zone of the caller's buckets) and `devices` (the
//! device ranking of a deduplication on read).

mod aggregates;
mod devices;
mod params;
mod reader;
mod samples;
mod summary;

pub(crate) use aggregates::AggregateView;
pub use aggregates::{aggregates, Coverage};
pub(crate) use devices::RankedDevices;
pub use params::Params;
pub(crate) use params::QUERY_YEARS;
pub(crate) use reader::{read, Reader};
pub use samples::samples;
pub use summary::summary;
