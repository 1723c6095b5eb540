//! The routes: `/metrics`, `/healthz`, the status page `/`, `/api/jobs`, `/api/runs` and
//! `POST /jobs/{name}/run`.
//!
//! A manual run is `Engine::run_job` on a task of its own, the way the watch loop starts a
//! scheduled run: it shares the engine's stop switch (SIGTERM stops it like any run) and
//! reports through the same log and observer. The watch loop does not know of it, so the
//! request is refused (409) while the job is running, and the watcher waits for manual runs
//! before it exits.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use tokio::task::JoinSet;

use super::Token;
use super::page;
use super::state::Status;
use crate::scheduler::Engine;
use crate::scheduler::fire::Fire;

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub status: Arc<Status>,
    pub engine: Arc<Engine>,
    pub token: Option<Token>,
    pub manual_runs: Arc<Mutex<JoinSet<()>>>,
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/jobs", get(api_jobs))
        .route("/api/runs", get(api_runs))
        .route("/jobs/{name}/run", post(run_now))
        .with_state(app)
}

async fn metrics(State(app): State<App>) -> Response {
    let text = app.status.scrape();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(super::metrics::CONTENT_TYPE),
        )],
        text,
    )
        .into_response()
}

async fn healthz(State(app): State<App>) -> Response {
    match app.status.check_health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn status_page(State(app): State<App>) -> Response {
    match page::render(&app.status, Utc::now()).await {
        Ok(html) => Html(html).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response(),
    }
}

async fn api_jobs(State(app): State<App>) -> Response {
    Json(page::jobs_json(&app.status).await).into_response()
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    job: Option<String>,
    limit: Option<usize>,
}

/// `/api/runs?job=NAME&limit=N`: the newest runs first, 100 unless `limit` says otherwise.
async fn api_runs(State(app): State<App>, Query(query): Query<RunsQuery>) -> Response {
    if let Some(job) = &query.job
        && !app.status.jobs().iter().any(|j| &j.spec.name == job)
    {
        return error_json(
            StatusCode::NOT_FOUND,
            &format!("no watched job is named `{job}`"),
        );
    }
    let runs = app
        .status
        .recent(query.job.as_deref(), query.limit.unwrap_or(100))
        .await;
    Json(runs).into_response()
}

async fn run_now(State(app): State<App>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(token) = &app.token else {
        return error_json(
            StatusCode::FORBIDDEN,
            "manual runs are disabled: start the scheduler with --http-token (or WEBSTIR_HTTP_TOKEN) to allow them",
        );
    };
    if !token.authorizes(&headers) {
        let mut response = error_json(
            StatusCode::UNAUTHORIZED,
            "send the token as `Authorization: Bearer <token>`",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let jobs = app.status.jobs();
    let job = match crate::scheduler::select(&jobs, std::slice::from_ref(&name)) {
        Ok(found) => found[0].clone(),
        Err(error) => return error_json(StatusCode::NOT_FOUND, &error.to_string()),
    };
    if app.status.stopping() {
        return error_json(
            StatusCode::SERVICE_UNAVAILABLE,
            "the scheduler is shutting down",
        );
    }
    if app.status.running(&job.spec.name) > 0 {
        return error_json(
            StatusCode::CONFLICT,
            &format!("{} is running now; try again when it ends", job.spec.name),
        );
    }
    let engine = Arc::clone(&app.engine);
    let name = job.spec.name.clone();
    app.manual_runs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .spawn(async move {
            let fire = Fire::manual(Utc::now());
            engine
                .run_job(&job, &fire, &[], &engine.stop_switch())
                .await;
        });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job": name, "status": "started" })),
    )
        .into_response()
}

fn error_json(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
