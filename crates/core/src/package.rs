//! Package names (`namespace:name`, `name` may contain `/`) and versions (semver), and how a
//! package maps onto the OCI store: `ns:a/b@1.2.3` is repository `ns/a/b`, tag `1.2.3`.

use std::fmt;
use std::str::FromStr;

use crate::name::{RepoName, Tag};

/// Why a package name or version is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("invalid package name {0:?}: expected namespace:name with lowercase kebab-case labels (name may contain '/'), e.g. acme:http-tools or run:calc/calculator")]
    Name(String),
    #[error("invalid version {0:?}: expected a semantic version such as 1.2.3 or 1.0.0-rc.1")]
    Version(String),
    #[error("version {0:?} has build metadata (+...), which cannot be an OCI tag")]
    BuildMetadata(String),
}

/// A package name: `namespace:name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageName {
    namespace: String,
    name: String,
}

/// A label: lowercase ASCII words of letters and digits joined by single hyphens.
fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && s.as_bytes()[0].is_ascii_lowercase()
}

impl PackageName {
    pub fn parse(s: &str) -> Result<Self, PackageError> {
        let err = || PackageError::Name(s.to_owned());
        let (namespace, name) = s.split_once(':').ok_or_else(err)?;
        if !valid_label(namespace) || name.is_empty() || !name.split('/').all(valid_label) {
            return Err(err());
        }
        let parsed = PackageName {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        // Every label is an OCI name component, but the whole must also fit the length limit.
        RepoName::parse(&parsed.repo_path()).map_err(|_| err())?;
        Ok(parsed)
    }

    /// The package that an OCI repository holds: its first component is the namespace.
    pub fn from_repo(repo: &RepoName) -> Option<Self> {
        let (ns, rest) = repo.as_str().split_once('/')?;
        PackageName::parse(&format!("{ns}:{rest}")).ok()
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn repo_path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The OCI repository holding this package's versions.
    pub fn repo(&self) -> RepoName {
        RepoName::parse(&self.repo_path()).expect("validated at construction")
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.name)
    }
}

impl FromStr for PackageName {
    type Err = PackageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageName::parse(s)
    }
}

/// Parses a publishable version: strict semver without build metadata (it becomes an OCI tag).
pub fn parse_version(s: &str) -> Result<semver::Version, PackageError> {
    let v = semver::Version::parse(s).map_err(|_| PackageError::Version(s.to_owned()))?;
    if !v.build.is_empty() {
        return Err(PackageError::BuildMetadata(s.to_owned()));
    }
    if s.len() > crate::name::MAX_TAG_LEN {
        return Err(PackageError::Version(s.to_owned()));
    }
    Ok(v)
}

/// The OCI tag of a version.
pub fn version_tag(v: &semver::Version) -> Tag {
    Tag::parse(&v.to_string()).expect("semver without build metadata is a valid tag")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_repositories_and_back() {
        let p = PackageName::parse("run:calc/calculator").unwrap();
        assert_eq!(p.namespace(), "run");
        assert_eq!(p.repo().as_str(), "run/calc/calculator");
        assert_eq!(p.to_string(), "run:calc/calculator");
        assert_eq!(PackageName::from_repo(&p.repo()), Some(p));
        assert_eq!(
            PackageName::from_repo(&RepoName::parse("single").unwrap()),
            None
        );
        assert!(PackageName::parse("wasi:http").is_ok());
        assert!(PackageName::parse("my-org:http-tools2").is_ok());
    }

    #[test]
    fn bad_names() {
        for bad in [
            "", "noColon", "a:b:c", ":b", "a:", "A:b", "a:B", "a:b//c", "a:b/", "a:-b", "a:b--c",
            "1a:b", "a:b c", "a:../b", "a:b.c", "a:b_c",
        ] {
            assert!(PackageName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.2.3").unwrap().to_string(), "1.2.3");
        assert!(parse_version("1.0.0-rc.1").is_ok());
        for bad in ["latest", "dev", "stable", "1.2", "v1.2.3", "01.2.3", ""] {
            assert!(
                matches!(parse_version(bad), Err(PackageError::Version(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_version("1.0.0+build.5"),
            Err(PackageError::BuildMetadata(_))
        ));
        let long = format!("1.0.0-{}", "a".repeat(130));
        assert!(
            matches!(parse_version(&long), Err(PackageError::Version(_))),
            "longer than a tag"
        );
        assert_eq!(
            version_tag(&parse_version("1.0.0-rc.1").unwrap()).as_str(),
            "1.0.0-rc.1"
        );
    }
}
