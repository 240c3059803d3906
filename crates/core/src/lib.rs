//! Wharf's domain types and rules: digests, repository names, tags, references, manifests and byte ranges.
//!
//! Everything here is pure: no I/O, no HTTP, no SQL. Each type validates on construction (and on
//! deserialize), so the rest of the program never handles an unchecked name or digest.

pub mod auth;
pub mod digest;
pub mod manifest;
pub mod name;
pub mod package;
pub mod range;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod wasm;

pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use manifest::{Descriptor, Manifest, ManifestError, ManifestKind};
pub use name::{NameError, Reference, RepoName, Tag};
pub use package::{PackageError, PackageName};
pub use range::{ByteRange, RangeError};
