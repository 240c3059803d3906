//! Async clients for a registry: the OCI distribution API (blob uploads, monolithic and chunked
//! with resume; manifests; tags) and the package API (versions, metadata, verified downloads,
//! search, publish). No terminal code: the `wharf` CLI and the tests build on it.

mod download;
mod error;
mod oci;
mod packages;

pub use error::{ClientError, RegistryError};
pub use oci::{OciClient, UploadSession};
pub use packages::{Dependency, PackageClient, PackageMeta, PublishForm, SearchResults};
