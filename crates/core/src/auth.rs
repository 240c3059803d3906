//! Token scopes and token hashing: what a credential may do, and how tokens are stored (hashed).

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// One permission a token carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Everything.
    Admin,
    /// Publish, push and delete within one namespace (`ns/…` repositories, `ns:…` packages).
    Push(String),
    /// Read, when the registry is private.
    Pull,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope {0:?}: use admin, pull, or push:<namespace>")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        match s {
            "admin" => Ok(Scope::Admin),
            "pull" => Ok(Scope::Pull),
            _ => match s.strip_prefix("push:") {
                Some(ns) if valid_namespace(ns) => Ok(Scope::Push(ns.to_owned())),
                _ => Err(ScopeError(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Admin => f.write_str("admin"),
            Scope::Pull => f.write_str("pull"),
            Scope::Push(ns) => write!(f, "push:{ns}"),
        }
    }
}

/// A namespace is one repository-name component: lowercase letters, digits, `.`, `_`, `-`.
pub fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 128
        && ns.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// What a set of scopes allows.
pub fn allows_read(scopes: &[Scope]) -> bool {
    !scopes.is_empty()
}

/// Whether `scopes` allow writing into `namespace`.
pub fn allows_write(scopes: &[Scope], namespace: &str) -> bool {
    scopes.iter().any(|s| match s {
        Scope::Admin => true,
        Scope::Push(ns) => ns == namespace,
        Scope::Pull => false,
    })
}

/// The stored form of a token: its SHA-256, hex. Tokens are long random strings, so a plain
/// hash is enough; the token itself is never stored.
pub fn token_hash(token: &str) -> String {
    Digest::sha256(token.as_bytes()).hex().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print() {
        for s in ["admin", "pull", "push:acme", "push:my-org.x_y"] {
            assert_eq!(s.parse::<Scope>().unwrap().to_string(), s);
        }
        for bad in [
            "",
            "root",
            "push:",
            "push:Acme",
            "push:a/b",
            "push:a:b",
            "Admin",
        ] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn write_needs_admin_or_the_namespace() {
        let push = vec![Scope::Push("acme".into())];
        assert!(allows_write(&push, "acme"));
        assert!(!allows_write(&push, "acme2"));
        assert!(!allows_write(&[Scope::Pull], "acme"));
        assert!(allows_write(&[Scope::Admin], "anything"));
        assert!(allows_read(&[Scope::Pull]));
        assert!(!allows_read(&[]));
    }

    #[test]
    fn token_hash_is_stable_and_hides_the_token() {
        let h = token_hash("secret");
        assert_eq!(h.len(), 64);
        assert_eq!(h, token_hash("secret"));
        assert!(!h.contains("secret"));
    }
}
