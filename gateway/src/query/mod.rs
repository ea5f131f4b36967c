//! The read side. It reads only the projections the processors write, and only the caller's
//! rows: `aggregates` (`GET /api/v1/aggregates`), `samples` (`GET /api/v1/samples`, the raw
//! samples with what of each counted), `summary` (`GET /api/v1/summary`, one local day against
//! the week before), and what they share with `explain`: `params` (parameter parsing) and
//! `devices` (the device ranking, stored samples as the domain takes them).

mod aggregates;
mod devices;
mod params;
mod samples;
mod summary;

pub use aggregates::{aggregates, Coverage};
pub(crate) use devices::{domain_sample, ranking_and_labels, DeviceLabel};
pub(crate) use params::{limit_param, period_param, required, rfc3339_param, sample_type_param};
pub use samples::samples;
pub use summary::summary;
