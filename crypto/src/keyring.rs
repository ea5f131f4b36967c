//! The data keys one unit of work needs (a batch of messages, one request), looked up once.

use std::collections::HashMap;

use crate::DataKey;

/// What the key store said about a user.
pub enum Lookup<'a> {
    Key(&'a DataKey),
    /// Looked up and not there: the user was erased (or never existed).
    Gone,
    /// Not looked up for this unit of work: a caller's mistake, or a message whose content
    /// names another user than its key.
    NotLoaded,
}

/// Users' data keys by user id, including the users that have none any more.
#[derive(Default, Clone)]
pub struct Keyring {
    keys: HashMap<String, Option<DataKey>>,
}

impl Keyring {
    pub fn insert(&mut self, user: String, key: Option<DataKey>) {
        self.keys.insert(user, key);
    }

    pub fn get(&self, user: &str) -> Lookup<'_> {
        match self.keys.get(user) {
            Some(Some(key)) => Lookup::Key(key),
            Some(None) => Lookup::Gone,
            None => Lookup::NotLoaded,
        }
    }

    /// Forgets a user's key, e.g. once this unit of work applied the user's erasure.
    pub fn forget(&mut self, user: &str) {
        if let Some(key) = self.keys.get_mut(user) {
            *key = None;
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
