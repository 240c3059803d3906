//! The OCI surface's error: the spec's `{"errors":[{code,message,detail}]}` body and one table
//! from error code to HTTP status.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use wharf_core::{DigestError, NameError};
use wharf_storage::StorageError;

/// The error codes of the distribution spec, plus `UNKNOWN` for server faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    Unknown,
}

impl Code {
    /// The wire code and the status it is answered with by default.
    fn table(self) -> (&'static str, StatusCode) {
        use Code::*;
        match self {
            BlobUnknown => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
            BlobUploadInvalid => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            BlobUploadUnknown => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
            DigestInvalid => ("DIGEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestBlobUnknown => ("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST),
            ManifestInvalid => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestUnknown => ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND),
            NameInvalid => ("NAME_INVALID", StatusCode::BAD_REQUEST),
            NameUnknown => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            SizeInvalid => ("SIZE_INVALID", StatusCode::BAD_REQUEST),
            Unauthorized => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Denied => ("DENIED", StatusCode::FORBIDDEN),
            Unsupported => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            TooManyRequests => ("TOOMANYREQUESTS", StatusCode::TOO_MANY_REQUESTS),
            Unknown => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.table().0
    }
}

/// An error answered on `/v2` (boxed: it travels through every `Result` on the request path).
#[derive(Debug)]
pub struct OciError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: Code,
    status: StatusCode,
    message: String,
    detail: Option<Value>,
    headers: HeaderMap,
}

pub type OciResult<T> = Result<T, OciError>;

impl OciError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        OciError(Box::new(Inner {
            code,
            status: code.table().1,
            message: message.into(),
            detail: None,
            headers: HeaderMap::new(),
        }))
    }

    pub fn code(&self) -> Code {
        self.0.code
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.0.status = status;
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.0.detail = Some(detail);
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.0.headers.insert(name, v);
        }
        self
    }

    /// A server fault: logged here with its cause, answered with a generic message.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        OciError::new(Code::Unknown, "internal server error")
    }

    pub fn name_invalid(e: NameError) -> Self {
        OciError::new(Code::NameInvalid, e.to_string())
    }

    pub fn digest_invalid(e: DigestError) -> Self {
        OciError::new(Code::DigestInvalid, e.to_string())
    }

    pub fn unsupported_method() -> Self {
        OciError::new(Code::Unsupported, "method not allowed on this endpoint")
    }

    pub fn too_large(what: &str, limit: u64) -> Self {
        OciError::new(
            Code::SizeInvalid,
            format!("{what} exceeds the limit of {limit} bytes"),
        )
        .status(StatusCode::PAYLOAD_TOO_LARGE)
        .detail(json!({ "limit": limit }))
    }
}

impl From<StorageError> for OciError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::UploadNotFound(_) => {
                OciError::new(Code::BlobUploadUnknown, "blob upload unknown to registry")
            }
            StorageError::DigestMismatch { expected, actual } => OciError::new(
                Code::DigestInvalid,
                "provided digest did not match uploaded content",
            )
            .detail(json!({ "expected": expected.to_string(), "actual": actual.to_string() })),
            StorageError::OffsetMismatch { given, current } => {
                let err = OciError::new(
                    Code::BlobUploadInvalid,
                    format!("chunk starts at {given} but the upload has {current} bytes"),
                )
                .status(StatusCode::RANGE_NOT_SATISFIABLE);
                if current > 0 {
                    err.header(axum::http::header::RANGE, &super::upload_range(current))
                } else {
                    err
                }
            }
            StorageError::TooLarge { limit } => OciError::too_large("blob", limit),
            StorageError::Body(e) => OciError::new(
                Code::BlobUploadInvalid,
                format!("request body could not be read to the end: {e}"),
            ),
            other => OciError::internal("storage failure", other),
        }
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let Inner {
            code,
            status,
            message,
            detail,
            headers,
        } = *self.0;
        let body = json!({
            "errors": [{
                "code": code.as_str(),
                "message": message,
                "detail": detail.unwrap_or(Value::Null),
            }]
        });
        let mut response = (status, Json(body)).into_response();
        response.headers_mut().extend(headers);
        response
    }
}
