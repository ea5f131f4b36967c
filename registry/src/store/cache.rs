//! Schema-by-id cache: ids are immutable once committed, so entries never go stale. Consumers
//! fetch by id on every new writer schema they meet, which makes this the hottest read.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::StoredSchema;

/// Bound on cached entries; past it the cache starts over rather than tracking recency,
/// since real deployments hold far fewer schemas than this.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(super) struct SchemaCache {
    entries: RwLock<HashMap<i32, Arc<StoredSchema>>>,
}

impl SchemaCache {
    pub(super) fn get(&self, id: i32) -> Option<Arc<StoredSchema>> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        entries.get(&id).cloned()
    }

    pub(super) fn insert(&self, id: i32, schema: Arc<StoredSchema>) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id, schema);
    }
}
