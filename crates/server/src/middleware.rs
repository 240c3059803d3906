//! The one place that builds the layers surfaces share: request logging for everything, and the
//! per-client rate limit of the package API and the file registry.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::auth;

/// Wraps the whole application.
pub fn apply(app: Router) -> Router {
    app.layer(middleware::from_fn(log_request))
}

/// One `debug` line per request (method, path, status, time to the response head); server faults
/// are logged where they happen, with their cause.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    tracing::debug!(
        %method,
        %path,
        status = res.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    res
}

/// Limits each client address to `per_minute` requests (none when 0). The limiter lives in this
/// process: with several replicas each enforces the limit on what it serves.
pub fn rate_limit<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    per_minute: u32,
) -> Router<S> {
    let Some(per_minute) = NonZeroU32::new(per_minute) else {
        return router;
    };
    let limiter: Arc<DefaultKeyedRateLimiter<IpAddr>> =
        Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
    router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let limiter = limiter.clone();
        async move {
            let ip = auth::peer(&req).map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
            if limiter.len() > 100_000 {
                limiter.retain_recent();
            }
            match limiter.check_key(&ip) {
                Ok(()) => next.run(req).await,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, secs.max(1).to_string())],
                        Json(json!({"error": {
                            "code": "rate_limited",
                            "message": format!("too many requests: at most {per_minute} per minute; retry in {} s", secs.max(1)),
                        }})),
                    )
                        .into_response()
                }
            }
        }
    }))
}
