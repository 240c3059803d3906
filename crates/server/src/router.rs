//! The one place that wires every surface's routes and stacks the shared layers.

use axum::Router;

use crate::routes::{files, oci, ops, packages, token, wellknown};
use crate::{middleware, AppState};

/// The complete application router.
pub fn router(state: AppState) -> Router {
    let app = Router::new();
    let app = ops::route(app);
    let app = oci::route(app);
    let app = wellknown::route(app);
    let app = token::route(app);
    let app = files::route(app);
    let app = packages::route(app);
    middleware::apply(app.with_state(state))
}
