//! In-process tests of every HTTP endpoint: the real router and real storage (filesystem +
//! SQLite in a temp dir), driven with `tower::ServiceExt::oneshot`. One test binary for all.

mod auth;
mod blobs;
mod files;
mod listing;
mod manifests;
mod packages;
mod robustness;
mod uploads;
mod web;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wharf_core::Digest;
use wharf_server::{App, AppState, Config};

/// A registry with its own data directory.
pub struct TestApp {
    router: Router,
    pub state: AppState,
    pub config: Config,
    pub dir: tempfile::TempDir,
}

/// A response, fully read.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The first OCI error code of an error body.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", String::from_utf8_lossy(&self.body)))
            .to_owned()
    }

    /// Asserts the status and the OCI error code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.code(), code);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        adjust(&mut config);
        TestApp::open(config, dir).await
    }

    async fn open(config: Config, dir: tempfile::TempDir) -> TestApp {
        let state = AppState::new(App::open(config.clone()).await.unwrap());
        TestApp {
            router: wharf_server::router::router(state.clone()),
            state,
            config,
            dir,
        }
    }

    /// The same data directory opened by a fresh process-like App (a restart).
    pub async fn restart(self) -> TestApp {
        let TestApp {
            config,
            dir,
            router,
            state,
        } = self;
        drop((router, state));
        TestApp::open(config, dir).await
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        self.request_from(LOOPBACK, method, uri, headers, body)
            .await
    }

    /// A request from the client address `peer`.
    pub async fn request_from(
        &self,
        peer: &str,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .extension(axum::extract::ConnectInfo(peer));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Creates a stored token and returns its secret.
    pub async fn create_token(&self, name: &str, scopes: Vec<wharf_core::auth::Scope>) -> String {
        self.state.create_token(name, scopes).await.unwrap().1
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.request(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn head(&self, uri: &str) -> Resp {
        self.request(Method::HEAD, uri, &[], Body::empty()).await
    }

    pub async fn delete(&self, uri: &str) -> Resp {
        self.request(Method::DELETE, uri, &[], Body::empty()).await
    }

    /// Pushes a blob with POST + PUT and returns its digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> Digest {
        let digest = Digest::sha256(data);
        let start = self
            .request(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(start.status, StatusCode::ACCEPTED);
        let location = start.header("location").unwrap().to_owned();
        let put = self
            .request(
                Method::PUT,
                &format!("{location}?digest={digest}"),
                &[("content-type", "application/octet-stream")],
                Bytes::copy_from_slice(data),
            )
            .await;
        assert_eq!(
            put.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&put.body)
        );
        digest
    }

    /// Pushes a manifest and asserts 201.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &str,
    ) -> Resp {
        let res = self
            .request(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{reference}"),
                &[("content-type", media_type)],
                body.to_owned(),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&res.body)
        );
        res
    }

    /// Pushes a config and one layer, then an image manifest referencing them under `tag`.
    /// Returns the manifest body and digest.
    pub async fn push_image(
        &self,
        repo: &str,
        tag: &str,
        layer: &[u8],
        extra: &str,
    ) -> (String, Digest) {
        let config = self.push_blob(repo, b"{}").await;
        let layer_digest = self.push_blob(repo, layer).await;
        let body = image_manifest(&config, 2, &layer_digest, layer.len(), extra);
        self.push_manifest(repo, tag, OCI_MANIFEST, &body).await;
        let digest = Digest::sha256(body.as_bytes());
        (body, digest)
    }
}

/// The address in-process requests come from unless a test says otherwise.
pub const LOOPBACK: &str = "127.0.0.1:40000";

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An OCI image manifest; `extra` is spliced in as more top-level fields (`,"k":v`).
pub fn image_manifest(
    config: &Digest,
    config_size: usize,
    layer: &Digest,
    layer_size: usize,
    extra: &str,
) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_size}}}]{extra}}}"#
    )
}

pub use wharf_core::testing::component;

/// A `multipart/form-data` body: text fields, then optionally one file field.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    const B: &str = "wharf-boundary-7d3f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    if let Some((field, filename, data)) = file {
        body.extend_from_slice(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/wasm\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{B}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={B}"), body)
}
