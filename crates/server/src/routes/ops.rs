//! Operational endpoints: `/health` (the process serves) and `/ready` (its storage answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let probe = wharf_core::RepoName::parse("wharf-readiness-probe").expect("valid name");
    match state.meta.repo_exists(&probe).await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "metadata store does not answer"})),
            )
        }
    }
}
