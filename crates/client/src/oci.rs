//! The OCI distribution API client.

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, Response, StatusCode};
use url::Url;
use wharf_core::{Digest, RepoName};

use crate::error::{ClientError, RegistryError};

/// A client for one registry's `/v2` API.
#[derive(Debug, Clone)]
pub struct OciClient {
    base: Url,
    http: reqwest::Client,
    token: Option<String>,
}

/// An open blob upload: where to send the next chunk, and how much the registry has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub location: Url,
    pub offset: u64,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    errors: Vec<RegistryError>,
}

impl OciClient {
    /// `base` is the registry's root URL, e.g. `http://127.0.0.1:5000`.
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = Url::parse(base).map_err(|_| ClientError::BadUrl(base.to_owned()))?;
        Ok(OciClient {
            base,
            http: reqwest::Client::new(),
            token: None,
        })
    }

    /// Sends `token` as `Authorization: Bearer` with every request.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("paths built here are valid")
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut request = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let request = build(request);
        request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.to_string(),
                source,
            })
    }

    /// Turns a non-success answer into [`ClientError::Status`] with the decoded OCI errors.
    async fn expect(
        &self,
        response: Response,
        method: &'static str,
        ok: &[StatusCode],
    ) -> Result<Response, ClientError> {
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let url = response.url().to_string();
        let errors = match response.bytes().await {
            Ok(body) => serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.errors)
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Err(ClientError::Status {
            method,
            url,
            status,
            errors,
        })
    }

    /// `GET /v2/`: whether the registry speaks the API.
    pub async fn ping(&self) -> Result<(), ClientError> {
        let res = self.send(Method::GET, self.url("/v2/"), |r| r).await?;
        self.expect(res, "GET", &[StatusCode::OK]).await?;
        Ok(())
    }

    fn session_from(&self, headers: &HeaderMap) -> Result<UploadSession, ClientError> {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ClientError::BadHeader("Location"))?;
        let location = self
            .base
            .join(location)
            .map_err(|_| ClientError::BadHeader("Location"))?;
        let offset = match headers.get(RANGE).and_then(|v| v.to_str().ok()) {
            Some(range) => parse_upload_range(range).ok_or(ClientError::BadHeader("Range"))?,
            None => 0,
        };
        Ok(UploadSession { location, offset })
    }

    /// Opens a chunked upload session.
    pub async fn start_upload(&self, repo: &RepoName) -> Result<UploadSession, ClientError> {
        let url = self.url(&format!("/v2/{repo}/blobs/uploads/"));
        let res = self
            .send(Method::POST, url, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        let res = self.expect(res, "POST", &[StatusCode::ACCEPTED]).await?;
        self.session_from(res.headers())
    }

    /// Sends one chunk at the session's offset; returns the session advanced past it.
    pub async fn upload_chunk(
        &self,
        session: &UploadSession,
        chunk: Bytes,
    ) -> Result<UploadSession, ClientError> {
        self.upload_body(session, chunk.len() as u64, reqwest::Body::from(chunk))
            .await
    }

    /// Sends `len` bytes from a streaming body at the session's offset.
    pub async fn upload_body(
        &self,
        session: &UploadSession,
        len: u64,
        body: reqwest::Body,
    ) -> Result<UploadSession, ClientError> {
        let start = session.offset;
        let range = format!("{start}-{}", start + len.saturating_sub(1));
        let res = self
            .send(Method::PATCH, session.location.clone(), |r| {
                r.header(CONTENT_RANGE, range)
                    .header(CONTENT_LENGTH, len)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(body)
            })
            .await?;
        let res = self.expect(res, "PATCH", &[StatusCode::ACCEPTED]).await?;
        let mut next = self.session_from(res.headers())?;
        next.offset = start + len;
        Ok(next)
    }

    /// Asks the registry how much of an upload it holds (to resume after a failure).
    pub async fn upload_status(&self, location: &Url) -> Result<UploadSession, ClientError> {
        let res = self.send(Method::GET, location.clone(), |r| r).await?;
        let res = self.expect(res, "GET", &[StatusCode::NO_CONTENT]).await?;
        self.session_from(res.headers())
    }

    /// Closes an upload: the registry verifies `digest` and makes the blob visible.
    pub async fn finish_upload(
        &self,
        session: &UploadSession,
        digest: &Digest,
    ) -> Result<(), ClientError> {
        let mut url = session.location.clone();
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let res = self
            .send(Method::PUT, url, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        self.expect(res, "PUT", &[StatusCode::CREATED]).await?;
        Ok(())
    }

    /// Uploads a blob in one request (POST, then PUT with the body).
    pub async fn push_blob(&self, repo: &RepoName, data: Bytes) -> Result<Digest, ClientError> {
        let digest = Digest::sha256(&data);
        let session = self.start_upload(repo).await?;
        let mut url = session.location;
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let res = self
            .send(Method::PUT, url, |r| {
                r.header(CONTENT_TYPE, "application/octet-stream")
                    .body(data)
            })
            .await?;
        self.expect(res, "PUT", &[StatusCode::CREATED]).await?;
        Ok(digest)
    }

    /// Whether `repo` can read the blob; its size if so.
    pub async fn blob_size(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<u64>, ClientError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let res = self.send(Method::HEAD, url, |r| r).await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self.expect(res, "HEAD", &[StatusCode::OK]).await?;
        let len = res
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .ok_or(ClientError::BadHeader("Content-Length"))?;
        Ok(Some(len))
    }

    /// Streams a blob into `dest`, checking it against its digest before it lands there.
    pub async fn download_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        dest: &std::path::Path,
        progress: impl Fn(u64),
    ) -> Result<u64, ClientError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let res = self.send(Method::GET, url.clone(), |r| r).await?;
        let res = self.expect(res, "GET", &[StatusCode::OK]).await?;
        crate::download::verified_to_file(res, url.as_str(), dest, digest, progress).await
    }

    /// Downloads a blob and checks it against its digest.
    pub async fn get_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Bytes, ClientError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let res = self.send(Method::GET, url.clone(), |r| r).await?;
        let res = self.expect(res, "GET", &[StatusCode::OK]).await?;
        let body = res.bytes().await.map_err(|source| ClientError::Transport {
            url: url.to_string(),
            source,
        })?;
        verify(digest, &body)?;
        Ok(body)
    }

    /// Pushes a manifest under a tag or digest; returns its digest.
    pub async fn push_manifest(
        &self,
        repo: &RepoName,
        reference: &str,
        media_type: &str,
        body: Bytes,
    ) -> Result<Digest, ClientError> {
        let digest = Digest::sha256(&body);
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let res = self
            .send(Method::PUT, url, |r| {
                r.header(CONTENT_TYPE, media_type).body(body)
            })
            .await?;
        self.expect(res, "PUT", &[StatusCode::CREATED]).await?;
        Ok(digest)
    }

    /// Fetches a manifest: its media type and exact bytes. A digest reference is verified.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &str,
    ) -> Result<(String, Bytes), ClientError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let res = self.send(Method::GET, url.clone(), |r| r).await?;
        let res = self.expect(res, "GET", &[StatusCode::OK]).await?;
        let media_type = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = res.bytes().await.map_err(|source| ClientError::Transport {
            url: url.to_string(),
            source,
        })?;
        if let Ok(expected) = Digest::parse(reference) {
            verify(&expected, &body)?;
        }
        Ok((media_type, body))
    }
}

fn verify(expected: &Digest, data: &[u8]) -> Result<(), ClientError> {
    let actual = Digest::of(expected.algorithm(), data);
    if &actual != expected {
        return Err(ClientError::DigestMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

/// The offset after an upload's inclusive `Range: 0-<end>` header (an empty upload has none).
fn parse_upload_range(value: &str) -> Option<u64> {
    let (start, end) = value.trim().split_once('-')?;
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    if start != 0 {
        return None;
    }
    end.checked_add(1)
}

#[cfg(test)]
mod tests {
    use super::parse_upload_range;

    #[test]
    fn upload_range_to_offset() {
        assert_eq!(parse_upload_range("0-0"), Some(1));
        assert_eq!(parse_upload_range("0-99"), Some(100));
        assert_eq!(parse_upload_range("5-9"), None);
        assert_eq!(parse_upload_range("x"), None);
    }
}
