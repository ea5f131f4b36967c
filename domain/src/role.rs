//! The role of an account.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an account may do: a `user` owns and syncs health data; a `provider` (a clinician)
/// only reads what users share with them. A closed set, because every endpoint is allowed
/// for exactly one role and a misspelt role must fail to parse rather than lock someone out.
/// The wire strings are the lower-case names, as in the accounts table and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Role {
    User,
    Provider,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::User, Role::Provider];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Provider => "provider",
        }
    }
}

/// A role name that is neither `user` nor `provider`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role \"{name}\"; known roles: user, provider")]
pub struct UnknownRole {
    pub name: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    /// Exact, case-sensitive match, like the gateway's check today.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole { name: s.to_owned() })
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownRole;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Role> for &'static str {
    fn from(r: Role) -> Self {
        r.as_str()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(Role::User.as_str(), "user");
        assert_eq!(Role::Provider.as_str(), "provider");
    }

    #[test]
    fn unknown_role_is_an_error_naming_it() {
        let err = "User".parse::<Role>().unwrap_err();
        assert_eq!(err.name, "User");
        assert_eq!(
            err.to_string(),
            "unknown role \"User\"; known roles: user, provider"
        );
        assert!("admin".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"clinician\"").is_err());
    }
}
