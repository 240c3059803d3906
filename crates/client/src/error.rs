//! Client errors: transport failures, registry errors decoded from the OCI error body, and
//! content that does not match its digest.

use wharf_core::Digest;

/// One entry of an OCI error body (`{"errors":[{code,message,detail}]}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RegistryError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the registry at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the registry answered {status} to {method} {url}{}", describe(.errors))]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        errors: Vec<RegistryError>,
    },
    #[error("the registry's answer is missing or has a malformed {0} header")]
    BadHeader(&'static str),
    #[error("content digest {actual} does not match the expected {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("invalid registry URL {0:?}")]
    BadUrl(String),
}

fn describe(errors: &[RegistryError]) -> String {
    errors
        .iter()
        .map(|e| format!(": {} ({})", e.message, e.code))
        .collect()
}

impl ClientError {
    /// The HTTP status of a registry error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The first OCI error code of a registry error answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Status { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }
}
