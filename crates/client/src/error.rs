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
    #[error("invalid registry URL {0:?}: expected http://host[:port] or https://host[:port]")]
    BadUrl(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("the registry at {url} is unreachable (tried {attempts} times): {source}")]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("the registry answered {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Api { status: u16, message: String },
    #[error("too many requests{}", retry_after.map(|s| format!("; retry in {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<u64> },
    #[error("{0}")]
    Io(#[from] std::io::Error),
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
            ClientError::Status { status, .. } | ClientError::Api { status, .. } => Some(*status),
            ClientError::NotFound(_) => Some(404),
            ClientError::RateLimited { .. } => Some(429),
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
