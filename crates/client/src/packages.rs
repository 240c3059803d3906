//! The package API client (Run 2.0 compatible): versions, metadata, verified downloads, search,
//! publish and yank. Unreachable registries are retried with backoff; a 404 is final at once.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use wharf_core::{Algorithm, Digest, Hasher};

use crate::error::ClientError;

/// Attempts for a request whose registry cannot be reached, and the first pause between them
/// (doubled each time).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// A package version's metadata (the Run `PackageMeta`, plus Wharf's extra fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageMeta {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    pub sha256: String,
    pub download_url: String,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub exports: Vec<String>,
    #[serde(default)]
    pub yanked: bool,
    #[serde(default)]
    pub downloads: u64,
}

/// A dependency as package metadata lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    #[serde(default = "any_version")]
    pub version: String,
    #[serde(default)]
    pub optional: bool,
}

fn any_version() -> String {
    "*".into()
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub packages: Vec<PackageMeta>,
    pub total: u64,
}

/// What a publish sends besides the artifact.
#[derive(Debug, Clone, Default)]
pub struct PublishForm {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: Option<String>,
    pub repository: Option<String>,
    /// JSON `[{"name","version","optional"}]`.
    pub dependencies: Value,
}

/// A client for one registry's package API.
#[derive(Debug, Clone)]
pub struct PackageClient {
    base: Url,
    token: Option<String>,
    http: reqwest::Client,
}

/// `ns:a/b` as one path segment.
fn encode_name(name: &str) -> String {
    name.replace(':', "%3A").replace('/', "%2F")
}

impl PackageClient {
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let mut base = Url::parse(base).map_err(|_| ClientError::BadUrl(base.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(base.to_string()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // A server that accepts but never answers is reported, not waited on forever.
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| ClientError::Transport {
                url: base.to_string(),
                source,
            })?;
        Ok(PackageClient { base, token, http })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .expect("paths built here are valid")
    }

    /// Sends a request, retrying while the registry cannot be reached (connection refused,
    /// timeouts, 502/503/504). Any other answer, 404 included, is returned at once.
    async fn send(
        &self,
        method: Method,
        url: Url,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut pause = FIRST_BACKOFF;
        let mut last_error = None;
        for attempt in 1..=ATTEMPTS {
            let mut request = self.http.request(method.clone(), url.clone());
            // The token goes to the registry only, never to another host a URL points at.
            if let Some(token) = self
                .token
                .as_ref()
                .filter(|_| url.origin() == self.base.origin())
            {
                request = request.bearer_auth(token);
            }
            match build(request).send().await {
                Ok(res) if matches!(res.status().as_u16(), 502..=504) && attempt < ATTEMPTS => {}
                Ok(res) => return Ok(res),
                Err(e) if e.is_connect() || e.is_timeout() => last_error = Some(e),
                Err(source) => {
                    return Err(ClientError::Transport {
                        url: url.to_string(),
                        source,
                    })
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Err(ClientError::Unreachable {
            url: url.to_string(),
            attempts: ATTEMPTS,
            source: last_error.expect("only connection failures get here"),
        })
    }

    /// Maps an unsuccessful answer to an error that says what happened.
    async fn check(res: Response, what: &str) -> Result<Response, ClientError> {
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let message = body["error"]["message"]
            .as_str()
            .or_else(|| body["errors"][0]["message"].as_str())
            .unwrap_or("")
            .to_owned();
        Err(match status {
            StatusCode::NOT_FOUND => ClientError::NotFound(what.to_owned()),
            StatusCode::TOO_MANY_REQUESTS => ClientError::RateLimited { retry_after },
            _ => ClientError::Api {
                status: status.as_u16(),
                message,
            },
        })
    }

    /// The versions of a package that resolution may pick (yanked ones excluded), in order.
    pub async fn versions(&self, name: &str) -> Result<Vec<semver::Version>, ClientError> {
        #[derive(Deserialize)]
        struct Versions {
            versions: Vec<String>,
        }
        let url = self.url(&format!("api/v1/packages/{}/versions", encode_name(name)));
        let res = Self::check(
            self.send(Method::GET, url, |r| r).await?,
            &format!("package {name}"),
        )
        .await?;
        let body: Versions = res.json().await.map_err(|e| self.bad_body(e))?;
        let mut versions: Vec<semver::Version> = body
            .versions
            .iter()
            .filter_map(|v| semver::Version::parse(v).ok())
            .collect();
        versions.sort();
        Ok(versions)
    }

    /// The metadata of one exact version (yanked ones included).
    pub async fn meta(&self, name: &str, version: &str) -> Result<PackageMeta, ClientError> {
        let url = self.url(&format!("api/v1/packages/{}/{version}", encode_name(name)));
        let res = Self::check(
            self.send(Method::GET, url, |r| r).await?,
            &format!("{name}@{version}"),
        )
        .await?;
        let meta: PackageMeta = res.json().await.map_err(|e| self.bad_body(e))?;
        // Names and versions become file names on the client: the answer must describe exactly
        // the package and version asked for.
        let deps_valid = meta
            .dependencies
            .iter()
            .all(|d| wharf_core::PackageName::parse(&d.name).is_ok());
        let sha_valid =
            meta.sha256.len() == 64 && meta.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if meta.name != name || meta.version != version || !deps_valid || !sha_valid {
            return Err(ClientError::Api {
                status: 200,
                message: format!(
                    "the registry answered for {name}@{version} with metadata of {}@{} or malformed fields; refusing it",
                    meta.name, meta.version
                ),
            });
        }
        Ok(meta)
    }

    /// Where to download an artifact. Like Run's client, a `http://localhost…` or
    /// `http://127.0.0.1…` download URL from a registry reached under another address is
    /// rewritten onto that address (registries often leave their public URL unset).
    pub fn download_url(&self, meta: &PackageMeta) -> Result<Url, ClientError> {
        let url = Url::parse(&meta.download_url)
            .map_err(|_| ClientError::BadUrl(meta.download_url.clone()))?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
        if local && url.origin() != self.base.origin() {
            if let Some(at) = url.path().find("/packages/") {
                return Ok(self.url(&url.path()[at..]));
            }
        }
        Ok(url)
    }

    fn bad_body(&self, e: reqwest::Error) -> ClientError {
        ClientError::Api {
            status: 200,
            message: format!(
                "the registry at {} sent an answer that is not the package API's: {e}",
                self.base
            ),
        }
    }

    /// Downloads an artifact to `dest`, hashing it as it arrives; it lands at `dest` only when its
    /// SHA-256 matches `meta.sha256`. `progress` receives the bytes received so far.
    pub async fn download(
        &self,
        meta: &PackageMeta,
        dest: &Path,
        progress: impl Fn(u64),
    ) -> Result<(), ClientError> {
        let url = self.download_url(meta)?;
        let res = Self::check(
            self.send(Method::GET, url, |r| r).await?,
            &format!("{}@{}", meta.name, meta.version),
        )
        .await?;
        let expected =
            Digest::parse(&format!("sha256:{}", meta.sha256.to_lowercase())).map_err(|_| {
                ClientError::Api {
                    status: 200,
                    message: format!("the registry sent a malformed sha256 {:?}", meta.sha256),
                }
            })?;
        crate::download::verified_to_file(res, &meta.download_url, dest, &expected, progress)
            .await?;
        Ok(())
    }

    pub async fn search(
        &self,
        query: &str,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults, ClientError> {
        let mut url = self.url("api/v1/search");
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("limit", &limit.to_string())
            .append_pair("offset", &offset.to_string());
        let res = Self::check(self.send(Method::GET, url, |r| r).await?, "search").await?;
        res.json().await.map_err(|e| self.bad_body(e))
    }

    /// Publishes `artifact` (streamed from disk; `progress` receives the bytes sent so far).
    pub async fn publish(
        &self,
        form: &PublishForm,
        artifact: &Path,
        progress: impl Fn(u64) + Send + Sync + Clone + 'static,
    ) -> Result<PackageMeta, ClientError> {
        let sha256 = {
            let path = artifact.to_owned();
            tokio::task::spawn_blocking(move || -> std::io::Result<String> {
                let mut file = std::fs::File::open(path)?;
                let mut hasher = Hasher::new(Algorithm::Sha256);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = std::io::Read::read(&mut file, &mut buf)?;
                    if n == 0 {
                        return Ok(hasher.finish().hex().to_owned());
                    }
                    hasher.update(&buf[..n]);
                }
            })
            .await
            .map_err(std::io::Error::other)??
        };
        let size = tokio::fs::metadata(artifact).await?.len();
        let url = self.url("api/v1/packages");
        let file_name = format!(
            "{}.wasm",
            form.name.rsplit([':', '/']).next().unwrap_or("component")
        );
        let build = |r: RequestBuilder| {
            let file = std::fs::File::open(artifact);
            let mut multipart = reqwest::multipart::Form::new()
                .text("name", form.name.clone())
                .text("version", form.version.clone())
                .text("description", form.description.clone())
                .text("sha256", sha256.clone())
                .text("dependencies", form.dependencies.to_string());
            if let Some(l) = &form.license {
                multipart = multipart.text("license", l.clone());
            }
            if let Some(repo) = &form.repository {
                multipart = multipart.text("repository", repo.clone());
            }
            let part = match file {
                Ok(file) => {
                    let progress = progress.clone();
                    let mut sent = 0u64;
                    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file))
                        .map(move |chunk| {
                            if let Ok(c) = &chunk {
                                sent += c.len() as u64;
                                progress(sent);
                            }
                            chunk
                        });
                    reqwest::multipart::Part::stream_with_length(
                        reqwest::Body::wrap_stream(stream),
                        size,
                    )
                }
                Err(_) => reqwest::multipart::Part::bytes(Vec::new()),
            };
            let part = part
                .file_name(file_name.clone())
                .mime_str("application/wasm")
                .expect("a valid mime type");
            r.multipart(multipart.part("component", part))
        };
        let res = self.send(Method::POST, url, build).await?;
        let res = Self::check(res, &form.name).await?;
        // Run's registry answers 201 with an empty body: describe the publish from what was sent.
        let body = res.bytes().await.map_err(|source| ClientError::Transport {
            url: self.base.to_string(),
            source,
        })?;
        Ok(
            serde_json::from_slice(&body).unwrap_or_else(|_| PackageMeta {
                name: form.name.clone(),
                version: form.version.clone(),
                description: form.description.clone(),
                license: form.license.clone(),
                size: Some(size),
                sha256,
                download_url: String::new(),
                dependencies: Vec::new(),
                repository: form.repository.clone(),
                imports: Vec::new(),
                exports: Vec::new(),
                yanked: false,
                downloads: 0,
            }),
        )
    }

    /// Yanks (or unyanks) a version.
    pub async fn set_yanked(
        &self,
        name: &str,
        version: &str,
        yanked: bool,
    ) -> Result<PackageMeta, ClientError> {
        let action = if yanked { "yank" } else { "unyank" };
        let url = self.url(&format!(
            "api/v1/packages/{}/{version}/{action}",
            encode_name(name)
        ));
        let res = Self::check(
            self.send(Method::POST, url, |r| r).await?,
            &format!("{name}@{version}"),
        )
        .await?;
        res.json().await.map_err(|e| self.bad_body(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(url: &str) -> PackageMeta {
        PackageMeta {
            name: "a:b".into(),
            version: "1.0.0".into(),
            description: String::new(),
            license: None,
            size: None,
            sha256: "0".repeat(64),
            download_url: url.into(),
            dependencies: vec![],
            repository: None,
            imports: vec![],
            exports: vec![],
            yanked: false,
            downloads: 0,
        }
    }

    #[test]
    fn local_download_urls_are_rewritten_onto_the_registry() {
        let c = PackageClient::new("https://reg.example/base", None).unwrap();
        let u = c
            .download_url(&meta(
                "http://localhost:8080/packages/a%3Ab/1.0.0/artifact.wasm",
            ))
            .unwrap();
        assert_eq!(
            u.as_str(),
            "https://reg.example/base/packages/a%3Ab/1.0.0/artifact.wasm"
        );
        let other = c.download_url(&meta("https://cdn.example/x.wasm")).unwrap();
        assert_eq!(other.as_str(), "https://cdn.example/x.wasm");
        let same = PackageClient::new("http://localhost:8080", None).unwrap();
        let u = same
            .download_url(&meta(
                "http://localhost:8080/packages/a%3Ab/1.0.0/artifact.wasm",
            ))
            .unwrap();
        assert_eq!(
            u.as_str(),
            "http://localhost:8080/packages/a%3Ab/1.0.0/artifact.wasm"
        );
    }
}
