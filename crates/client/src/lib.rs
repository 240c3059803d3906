//! An async client for the OCI distribution API: blob uploads (monolithic and chunked, with
//! resume), manifests, tags. No terminal code: the `wharf` CLI and the tests build on it.

mod error;
mod oci;

pub use error::{ClientError, RegistryError};
pub use oci::{OciClient, UploadSession};
