//! What the query API reads from the projections: aggregates, samples with the rankings they
//! were counted with, explain, the daily summary, insights.
