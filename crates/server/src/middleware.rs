//! The one place that stacks the layers every surface shares: request logging.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

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
