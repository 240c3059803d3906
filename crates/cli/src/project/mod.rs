//! A Run project on disk: `run.toml` (read with a real TOML parser, edited without losing its
//! comments or formatting), `run.lock` (with a checksum that is verified on every read), and the
//! `.run/cache` and `.run/components` directories.

pub mod layout;
pub mod lockfile;
pub mod manifest;

pub use layout::Layout;
pub use lockfile::{LockEntry, Lockfile};
pub use manifest::{DepKind, Manifest};
