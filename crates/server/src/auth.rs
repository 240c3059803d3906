//! Authentication and authorization for every surface: which credential a request carries, whose
//! it is, and whether it may read or write. Each surface turns a [`Denial`] into its own format.
//!
//! Credentials: `Authorization: Bearer <token>`, HTTP Basic with the token as password, and the
//! Simplism headers `admin-registry-token` / `private-registry-token`. Tokens come from the
//! configuration (compared in constant time) or the metadata store (looked up by SHA-256).
//! With no token configured anywhere, writes are accepted from loopback clients only.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request};
use base64::Engine as _;
use subtle::ConstantTimeEq;
use wharf_core::auth::{allows_read, allows_write, token_hash, Scope};
use wharf_storage::{now_unix, StorageError, TokenRecord};

use crate::App;

/// The bearer token the token endpoint hands to clients that present no credentials.
pub const ANONYMOUS_TOKEN: &str = "anonymous";

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// For logs: a token's name, or `config:admin` and the like for configured tokens.
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    Read,
    /// Push, publish or delete inside a namespace.
    Write(&'a str),
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Denial {
    /// No credentials where some are needed, or credentials that are not valid: 401.
    Unauthenticated { invalid: bool },
    /// Valid credentials without the needed scope: 403.
    Forbidden { principal: String },
    /// The token store failed.
    Storage(StorageError),
}

impl From<StorageError> for Denial {
    fn from(e: StorageError) -> Self {
        Denial::Storage(e)
    }
}

/// The client's address, when the server knows it.
pub fn peer<B>(req: &Request<B>) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// The token a request presents, if any.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if let Some(token) = strip_scheme(value, "bearer") {
            return Some(token.trim().to_owned());
        }
        if let Some(encoded) = strip_scheme(value, "basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())?;
            // The password is the token; the user name is ignored.
            let (_, password) = decoded.split_once(':')?;
            return Some(password.to_owned());
        }
    }
    ["admin-registry-token", "private-registry-token"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(|t| t.trim().to_owned())
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Compares two secrets in constant time: their SHA-256 digests have one length, so not even
/// the length of a configured token leaks.
fn same_secret(a: &str, b: &str) -> bool {
    token_hash(a)
        .as_bytes()
        .ct_eq(token_hash(b).as_bytes())
        .into()
}

impl App {
    /// Whether any token exists, in the configuration or the store.
    pub async fn auth_configured(&self) -> Result<bool, StorageError> {
        Ok(self.config.auth.has_tokens() || self.meta.has_active_tokens().await?)
    }

    /// Resolves a presented token. `Ok(None)` is anonymous; an unknown token is an error.
    pub async fn principal(&self, token: Option<&str>) -> Result<Option<Principal>, Denial> {
        let Some(token) = token.filter(|t| !t.is_empty() && *t != ANONYMOUS_TOKEN) else {
            return Ok(None);
        };
        let auth = &self.config.auth;
        // Every configured token is compared (in constant time), so timing does not reveal which
        // matched; a token configured several times holds all its scopes.
        let mut scopes = Vec::new();
        for t in &auth.admin_tokens {
            if same_secret(t.expose(), token) {
                scopes.push(Scope::Admin);
            }
        }
        for (ns, t) in auth.namespace_pairs() {
            if same_secret(t, token) {
                scopes.push(Scope::Push(ns.to_owned()));
            }
        }
        for t in &auth.pull_tokens {
            if same_secret(t.expose(), token) {
                scopes.push(Scope::Pull);
            }
        }
        if !scopes.is_empty() {
            scopes.sort();
            scopes.dedup();
            let name = format!(
                "config:{}",
                scopes
                    .iter()
                    .map(Scope::to_string)
                    .collect::<Vec<_>>()
                    .join("+")
            );
            return Ok(Some(Principal { name, scopes }));
        }
        match self.meta.token_by_hash(&token_hash(token)).await? {
            Some(TokenRecord { name, scopes, .. }) => Ok(Some(Principal { name, scopes })),
            None => Err(Denial::Unauthenticated { invalid: true }),
        }
    }

    /// Decides whether a request with these headers, from `peer`, may have `access`.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        access: Access<'_>,
    ) -> Result<Option<Principal>, Denial> {
        let token = presented_token(headers);
        let who = self.principal(token.as_deref()).await?;
        let allowed = match (&who, access) {
            (Some(p), Access::Read) => allows_read(&p.scopes) || !self.config.auth.is_private(),
            (None, Access::Read) => !self.config.auth.is_private(),
            (Some(p), Access::Write(ns)) => allows_write(&p.scopes, ns),
            (None, Access::Write(_)) => self.anonymous_may_write(headers, peer).await?,
        };
        match (allowed, who) {
            (true, who) => Ok(who),
            (false, None) => Err(Denial::Unauthenticated { invalid: false }),
            (false, Some(p)) => Err(Denial::Forbidden { principal: p.name }),
        }
    }

    /// Secure by default: with no token anywhere, only this machine may write — and not a web
    /// page open in a browser on it (requests a browser makes for a page carry `Origin` or a
    /// `Sec-Fetch-Site` other than `none`).
    async fn anonymous_may_write(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<bool, StorageError> {
        let from_a_page = headers.contains_key(header::ORIGIN)
            || headers
                .get("sec-fetch-site")
                .is_some_and(|v| v.as_bytes() != b"none");
        Ok(!from_a_page
            && peer.is_some_and(|a| a.ip().is_loopback())
            && !self.auth_configured().await?)
    }

    /// The first check of a write whose namespace is not known until the body is read: refuses
    /// requests that could not write anywhere — no credentials (401), or a token without any
    /// write scope (403) — before reading anything.
    pub async fn authenticate_writer(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Option<Principal>, Denial> {
        let who = self.principal(presented_token(headers).as_deref()).await?;
        match &who {
            None if !self.anonymous_may_write(headers, peer).await? => {
                Err(Denial::Unauthenticated { invalid: false })
            }
            Some(p)
                if !p
                    .scopes
                    .iter()
                    .any(|s| matches!(s, Scope::Admin | Scope::Push(_))) =>
            {
                Err(Denial::Forbidden {
                    principal: p.name.clone(),
                })
            }
            _ => Ok(who),
        }
    }

    /// Creates a token with `scopes`; returns its record and the secret, which is shown once and
    /// never stored.
    pub async fn create_token(
        &self,
        name: &str,
        scopes: Vec<Scope>,
    ) -> Result<(TokenRecord, String), StorageError> {
        let secret = format!(
            "wharf_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let record = TokenRecord {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            name: name.to_owned(),
            scopes,
            created_at: now_unix(),
            revoked_at: None,
        };
        self.meta
            .create_token(&record, &token_hash(&secret))
            .await?;
        Ok((record, secret))
    }
}

/// The `WWW-Authenticate` challenge that sends Docker-style clients to the token endpoint.
pub fn challenge(base: &str, scope: Option<&str>) -> String {
    let mut value = format!("Bearer realm=\"{base}/auth/token\",service=\"wharf\"");
    if let Some(scope) = scope {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn credentials_in_every_accepted_form() {
        assert_eq!(
            presented_token(&headers(&[("authorization", "Bearer abc")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "bearer  abc ")])).as_deref(),
            Some("abc")
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("user:tok:en");
        assert_eq!(
            presented_token(&headers(&[("authorization", &format!("Basic {basic}"))])).as_deref(),
            Some("tok:en")
        );
        assert_eq!(
            presented_token(&headers(&[("admin-registry-token", "adm")])).as_deref(),
            Some("adm")
        );
        assert_eq!(
            presented_token(&headers(&[("private-registry-token", "prv")])).as_deref(),
            Some("prv")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "Basic !!!")])),
            None
        );
        assert_eq!(presented_token(&HeaderMap::new()), None);
    }

    #[test]
    fn challenge_names_the_token_endpoint() {
        assert_eq!(
            challenge("http://reg:5000", Some("repository:a/b:pull,push")),
            "Bearer realm=\"http://reg:5000/auth/token\",service=\"wharf\",scope=\"repository:a/b:pull,push\""
        );
        assert_eq!(
            challenge("https://r.example", None),
            "Bearer realm=\"https://r.example/auth/token\",service=\"wharf\""
        );
    }
}
