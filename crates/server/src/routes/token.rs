//! The Docker token endpoint (`/auth/token`): clients that follow a `WWW-Authenticate: Bearer`
//! challenge trade their credentials (Basic, token as password) for a bearer token here.
//!
//! The bearer token handed out is the presented token itself (checked first), so it is revocable
//! at once and works on every replica; clients without credentials get the anonymous token.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde_json::json;

use crate::auth::{presented_token, Denial, ANONYMOUS_TOKEN};
use crate::AppState;

/// How long clients are told a token lasts; they ask again after that.
const EXPIRES_IN: u64 = 3600;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/auth/token", get(token_get).post(token_post))
}

async fn token_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    issue(&state, &headers, presented_token(&headers)).await
}

/// The OAuth2 form containerd may send: `grant_type=password&password=…` or a refresh token.
async fn token_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form
        .get("password")
        .or_else(|| form.get("refresh_token"))
        .cloned()
        .or_else(|| presented_token(&headers));
    issue(&state, &headers, token).await
}

async fn issue(state: &AppState, headers: &HeaderMap, token: Option<String>) -> Response {
    match state.principal(token.as_deref()).await {
        Ok(who) => {
            let token = match who {
                Some(_) => token.unwrap_or_default(),
                None => ANONYMOUS_TOKEN.to_owned(),
            };
            Json(json!({
                "token": token,
                "access_token": token,
                "expires_in": EXPIRES_IN,
            }))
            .into_response()
        }
        Err(Denial::Storage(e)) => {
            tracing::error!(error = %e, "token store failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => {
            let _ = headers;
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"wharf\"")],
                Json(json!({"errors": [{
                    "code": "UNAUTHORIZED",
                    "message": "the token is not valid",
                    "detail": null
                }]})),
            )
                .into_response()
        }
    }
}
