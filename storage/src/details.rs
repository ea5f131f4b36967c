//! A sample's free text as stored: sealed with its owner's data key (see migration
//! `0012_sample_details`). One place seals and opens it, for the processor that writes
//! samples and every reader that shows them.

use std::collections::BTreeMap;

use healthpipe_crypto::{open_details, seal_details, Aad, DataKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::StoreError;

/// What a sample carries besides its measurement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleDetails {
    pub source_app: Option<String>,
    /// Ordered, so the same details always serialise, and seal, to the same bytes.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

fn aad<'a>(user: &'a str, sample: &'a str) -> Aad<'a> {
    Aad {
        owner: user,
        record: sample,
    }
}

/// The details of `user`'s `sample`, sealed for the `details` column.
pub fn seal(key: &DataKey, user: Uuid, sample: Uuid, details: &SampleDetails) -> Vec<u8> {
    let json = serde_json::to_vec(details).expect("details serialise");
    seal_details(key, aad(&user.to_string(), &sample.to_string()), &json)
}

/// Opens a `details` column written by [`seal`].
pub fn open(
    key: &DataKey,
    user: Uuid,
    sample: Uuid,
    sealed: &[u8],
) -> Result<SampleDetails, StoreError> {
    let json = open_details(key, aad(&user.to_string(), &sample.to_string()), sealed)
        .map_err(|e| StoreError::Keys(format!("the details of a sample: {e}")))?;
    serde_json::from_slice(&json)
        .map_err(|e| StoreError::Corrupt(format!("the details of a sample: {e}")))
}

/// A stored row's details: sealed (opened with `key`), or in clear from before sealing.
pub fn of_row(
    key: Option<&DataKey>,
    user: Uuid,
    sample: Uuid,
    sealed: Option<&[u8]>,
    clear: SampleDetails,
) -> Result<SampleDetails, StoreError> {
    match (sealed, key) {
        (Some(sealed), Some(key)) => open(key, user, sample, sealed),
        (Some(_), None) => Err(StoreError::Keys(
            "no data key to open a sample's details".into(),
        )),
        (None, _) => Ok(clear),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_details_seal_to_the_same_bytes_whatever_order_they_came_in() {
        let key = DataKey::generate();
        let (user, sample) = (Uuid::new_v4(), Uuid::new_v4());
        let pairs: Vec<(String, String)> = (0..20)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let forward = SampleDetails {
            source_app: Some("app".into()),
            metadata: pairs.iter().cloned().collect(),
        };
        let backward = SampleDetails {
            source_app: Some("app".into()),
            metadata: pairs.iter().rev().cloned().collect(),
        };
        let sealed = seal(&key, user, sample, &forward);
        assert_eq!(sealed, seal(&key, user, sample, &backward));
        assert_eq!(open(&key, user, sample, &sealed).unwrap(), forward);
        assert!(open(&key, user, Uuid::new_v4(), &sealed).is_err());
    }
}
