//! A device's deduplication priority.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much a device's data is trusted where devices overlap: **the higher priority wins**
/// ([`crate::DeviceRanking`] ranks the highest first; equal priorities are broken by device id).
///
/// A newtype so that a priority is never mistaken for a value, a count or a rank (where lower
/// is better). `Ord` is numeric, so `a > b` reads "a wins over b". It holds an `i32` because
/// the events carry an Avro `int`; negative priorities are allowed (rank below the defaults).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Priority(i32);

impl Priority {
    pub const fn new(value: i32) -> Self {
        Self(value)
    }

    pub const fn get(self) -> i32 {
        self.0
    }
}

impl From<i32> for Priority {
    fn from(value: i32) -> Self {
        Self(value)
    }
}

impl From<Priority> for i32 {
    fn from(p: Priority) -> Self {
        p.0
    }
}

/// [`crate::DeviceRanking`] holds priorities as `i64`.
impl From<Priority> for i64 {
    fn from(p: Priority) -> Self {
        i64::from(p.0)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_wins_and_converts_without_loss() {
        assert!(Priority::new(100) > Priority::new(80));
        assert!(Priority::new(-5) < Priority::default());
        assert_eq!(i64::from(Priority::new(i32::MIN)), i64::from(i32::MIN));
        assert_eq!(i32::from(Priority::from(70)), 70);
        assert_eq!(Priority::new(40).to_string(), "40");
        assert_eq!(serde_json::to_string(&Priority::new(50)).unwrap(), "50");
        assert_eq!(
            serde_json::from_str::<Priority>("-3").unwrap(),
            Priority::new(-3)
        );
    }
}
