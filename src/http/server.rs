//! The routes: `/metrics`, `/healthz`, the status page `/`, `/api/jobs`, `/api/runs` and
//! `POST /jobs/{name}/run`.
//!
//! A manual run of a watched job is started by the watch loop (see
//! [`crate::scheduler::manual`]), so that it counts for the job's overlap policy like a
//! scheduled run; it is refused (409) while the job is running. A job the loop does not watch
//! (no schedule, or left out by `--job`) is run here with `Engine::run_job` on a task of its
//! own, sharing the engine's stop switch; the watcher waits for those runs before it exits.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::Token;
use super::page;
use super::state::Status;
use crate::scheduler::Engine;
use crate::scheduler::fire::Fire;
use crate::scheduler::manual::{ManualReply, ManualRun};

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub status: Arc<Status>,
    pub engine: Arc<Engine>,
    pub token: Option<Token>,
    /// Manual runs of watched jobs, to the watch loop.
    pub loop_runs: mpsc::Sender<ManualRun>,
    /// Manual runs of the jobs the loop does not watch.
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
        return shutting_down();
    }
    let busy = || {
        error_json(
            StatusCode::CONFLICT,
            &format!("{} is running now; try again when it ends", job.spec.name),
        )
    };
    let started = || {
        (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "job": job.spec.name, "status": "started" })),
        )
            .into_response()
    };
    let (reply, answer) = oneshot::channel();
    let asked = app.loop_runs.try_send(ManualRun {
        job: job.spec.name.clone(),
        reply,
    });
    match asked {
        Ok(()) => match answer.await {
            Ok(ManualReply::Started) => return started(),
            Ok(ManualReply::Running) => return busy(),
            Ok(ManualReply::NotWatched) => {}
            // The loop returned without answering: it is stopping.
            Err(_) => return shutting_down(),
        },
        Err(mpsc::error::TrySendError::Full(_)) => return busy(),
        Err(mpsc::error::TrySendError::Closed(_)) => return shutting_down(),
    }
    if app.status.running(&job.spec.name) > 0 {
        return busy();
    }
    let response = started();
    let engine = Arc::clone(&app.engine);
    app.manual_runs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .spawn(async move {
            let fire = Fire::manual(Utc::now());
            engine
                .run_job(&job, &fire, &[], &engine.stop_switch())
                .await;
        });
    response
}

fn shutting_down() -> Response {
    error_json(
        StatusCode::SERVICE_UNAVAILABLE,
        "the scheduler is shutting down",
    )
}

fn error_json(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
