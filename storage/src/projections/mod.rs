//! The projections the processors materialise from the log, each written in the batch
//! transaction that also advances the group's [`offsets`].

pub mod offsets;
