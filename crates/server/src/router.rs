//! The one place that wires every surface's routes and stacks the shared layers.

use axum::extract::DefaultBodyLimit;
use axum::Router;

use crate::routes::{files, oci, ops, packages, token, web, wellknown};
use crate::{middleware, AppState};

/// The complete application router.
pub fn router(state: AppState) -> Router {
    let app = Router::new();
    let app = ops::route(app);
    let app = oci::route(app);
    let app = wellknown::route(app);
    let app = token::route(app);
    let app = web::route(app);
    // The package API and the file registry share one per-client rate limit. Their uploads are
    // bounded by `limits.max_upload_bytes` while they are stored, not by axum's default 2 MiB.
    let limited = packages::route(files::route(Router::new())).layer(DefaultBodyLimit::disable());
    let app = app.merge(middleware::rate_limit(
        limited,
        state.config.limits.rate_limit_per_min,
    ));
    middleware::apply(app.with_state(state))
}
