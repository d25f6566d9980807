//! `cltd serve`: the JSON API under `/v1`, for many trusts in one process.
//!
//! Writes carry a member-signed transition (the canonical envelope bytes, as
//! `application/octet-stream`): the server never holds members' keys. Errors are JSON,
//! `{"error": {"code": "...", "message": "..."}}`, with a stable code; a bylaw's denial is a
//! logged decision and comes back as a receipt whose verdict carries the reason code.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cltd_runtime::{Action, Error, RefusalError, SystemClock, Trust};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{render, setup};

/// Largest signed transition accepted (the runtime's own limit).
const MAX_TRANSITION: usize = 64 * 1024;
/// Most log entries one page returns.
const MAX_PAGE: usize = 1000;

/// The trusts one server hosts, by id (hex).
pub struct Hub {
    trusts: BTreeMap<String, Mutex<Trust>>,
}

impl Hub {
    /// Open every trust under `root`: `root` itself if it holds a trust, else each of its
    /// subdirectories that does.
    pub fn open(root: &Path) -> Result<Hub> {
        let mut dirs = Vec::new();
        if root.join(cltd_runtime::STORE_FILE).exists() {
            dirs.push(root.to_path_buf());
        } else {
            for entry in std::fs::read_dir(root)
                .with_context(|| format!("read the trusts directory {}", root.display()))?
            {
                let path = entry?.path();
                if path.join(cltd_runtime::STORE_FILE).exists() {
                    dirs.push(path);
                }
            }
        }
        dirs.sort();
        let runtime = setup::runtime()?;
        let mut trusts = BTreeMap::new();
        for dir in dirs {
            let trust = Trust::open(&dir, runtime.clone(), Box::new(SystemClock))
                .with_context(|| format!("open the trust in {}", dir.display()))?;
            trust.prepare_candidates();
            trusts.insert(trust.id_hex(), Mutex::new(trust));
        }
        Ok(Hub { trusts })
    }

    /// Number of trusts hosted.
    pub fn len(&self) -> usize {
        self.trusts.len()
    }

    /// True when it hosts none.
    pub fn is_empty(&self) -> bool {
        self.trusts.is_empty()
    }
}

/// An API error: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            Error::Refused(r) => match r {
                RefusalError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
                RefusalError::WrongTrust { .. } => (StatusCode::BAD_REQUEST, "wrong-trust"),
                RefusalError::BadSignature(_) => (StatusCode::UNAUTHORIZED, "bad-signature"),
                RefusalError::BadSequence { .. } => (StatusCode::CONFLICT, "bad-sequence"),
                RefusalError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
                RefusalError::Lifecycle(_) => (StatusCode::CONFLICT, "lifecycle"),
                RefusalError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
                RefusalError::Amendment(_) => (StatusCode::UNPROCESSABLE_ENTITY, "amendment"),
                RefusalError::Entrenched { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "entrenched-clause")
                }
            },
            Error::Eval(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bylaw-failed"),
            Error::Load(_) => (StatusCode::UNPROCESSABLE_ENTITY, "module"),
            Error::Store(_) | Error::Charter(_) | Error::HostKey(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        ApiError::new(status, code, message)
    }
}

type Shared = Arc<Hub>;

fn with_trust<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let trust = hub
        .trusts
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("this server hosts no trust {id}")))?;
    let mut trust = trust
        .lock()
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "poisoned"))?;
    f(&mut trust)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(hub): State<Shared>) -> Response {
    if hub.is_empty() {
        (StatusCode::SERVICE_UNAVAILABLE, "no trusts loaded\n").into_response()
    } else {
        (StatusCode::OK, format!("ok: {} trust(s)\n", hub.len())).into_response()
    }
}

async fn trusts(State(hub): State<Shared>) -> Result<axum::Json<Value>, ApiError> {
    let mut out = Vec::new();
    for id in hub.trusts.keys() {
        out.push(with_trust(&hub, id, |t| {
            let s = t.state();
            Ok(json!({"id": id, "name": s.name, "log_size": s.size, "module": hex::encode(s.module)}))
        })?);
    }
    Ok(axum::Json(json!({"trusts": out})))
}

async fn trust(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<axum::Json<Value>, ApiError> {
    with_trust(&hub, &id, |t| Ok(axum::Json(render::state_json(t.state()))))
}

/// One part of a trust's state: `members` (grouped by class), `assets`, `proposals` or
/// `grants`.
async fn part(
    State(hub): State<Shared>,
    UrlPath((id, part)): UrlPath<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    with_trust(&hub, &id, |t| {
        let all = render::state_json(t.state());
        let v = match part.as_str() {
            "members" => {
                let mut by_class = serde_json::Map::new();
                for class in ["resident", "community", "public"] {
                    let list: Vec<Value> = all["members"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|m| m["class"] == class)
                        .cloned()
                        .collect();
                    by_class.insert(class.to_string(), Value::Array(list));
                }
                Value::Object(by_class)
            }
            "assets" | "proposals" | "grants" => all[part.as_str()].clone(),
            _ => {
                return Err(ApiError::not_found(format!(
                    "no such part of a trust: {part}"
                )));
            }
        };
        Ok(axum::Json(json!({ part: v })))
    })
}

#[derive(Deserialize)]
struct ProofQuery {
    index: Option<u64>,
    old: Option<u64>,
}

/// `GET .../proof?index=I` (inclusion) or `?old=M` (consistency), against the current
/// checkpoint; hashes are base64 SHA-256, as in the C2SP formats.
async fn proof(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ProofQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    use base64::Engine;
    let b64 = |h: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
    if q.index.is_some() == q.old.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "give exactly one of ?index= (inclusion) or ?old= (consistency)",
        ));
    }
    with_trust(&hub, &id, |t| {
        let p = crate::audit::log_proof(t, q.index, q.old).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("{e:#}"),
            )
        })?;
        Ok(axum::Json(json!({
            "proof": if q.index.is_some() { "inclusion" } else { "consistency" },
            "size": p.size,
            "root": b64(&p.root),
            "hashes": p.hashes.iter().map(b64).collect::<Vec<_>>(),
        })))
    })
}

async fn proposal(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
) -> Result<axum::Json<Value>, ApiError> {
    with_trust(&hub, &id, |t| {
        let s = t.state();
        let p = s
            .proposals
            .get(&number)
            .ok_or_else(|| ApiError::not_found(format!("there is no proposal {number}")))?;
        let mut v = render::proposal_json(s, p);
        // What the bylaw would decide if the proposal were closed now (nothing is written).
        if p.proposal.status == cltd_runtime::ProposalStatus::Open {
            let action = Action::Close(number);
            let view = t.view(&[0; 32], &action, s.time);
            let dry = t
                .runtime()
                .evaluate(&s.module, &view, &action)
                .map(|e| render::verdict_json(&e.verdict))
                .unwrap_or_else(|e| json!({"error": e.to_string()}));
            v["if_closed_now"] = dry;
        }
        Ok(axum::Json(v))
    })
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn log(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(page): Query<Page>,
) -> Result<axum::Json<Value>, ApiError> {
    with_trust(&hub, &id, |t| {
        let from = page.from.unwrap_or(0);
        let limit = page.limit.unwrap_or(100).min(MAX_PAGE);
        let entries = t.entries(from, limit)?;
        let list: Vec<Value> = entries
            .iter()
            .map(|e| render::entry_json(t.state(), e))
            .collect();
        let end = from + list.len() as u64;
        let next = (end < t.state().size).then_some(end);
        Ok(axum::Json(
            json!({"entries": list, "next": next, "size": t.state().size}),
        ))
    })
}

async fn checkpoint(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<String, ApiError> {
    with_trust(&hub, &id, |t| Ok(t.latest_checkpoint()?.to_string()))
}

async fn submit(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            "the body must be a member-signed transition (canonical envelope bytes)",
        ));
    }
    let hub = hub.clone();
    tokio::task::spawn_blocking(move || {
        with_trust(&hub, &id, |t| {
            let r = t.submit(&body)?;
            Ok(axum::Json(json!({
                "index": r.index,
                "entry_hash": hex::encode(r.entry_hash),
                "time": r.time,
                "signer": hex::encode(r.signer),
                "action": render::action_text(t.state(), &r.action),
                "module": hex::encode(r.module),
                "verdict": render::verdict_json(&r.verdict),
                "effects": r.effects.iter().map(|e| render::effect_text(t.state(), e)).collect::<Vec<_>>(),
                "fuel": r.fuel,
            })))
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

async fn payload_limit(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("a signed transition is at most {MAX_TRANSITION} bytes"),
        )
        .into_response();
    }
    response
}

/// The API's routes.
pub fn router(hub: Arc<Hub>) -> Router {
    let writes = Router::new()
        .route("/v1/trusts/{id}/transitions", axum::routing::post(submit))
        .layer(DefaultBodyLimit::max(MAX_TRANSITION))
        .layer(axum::middleware::map_response(payload_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/trusts", get(trusts))
        .route("/v1/trusts/{id}", get(trust))
        .route("/v1/trusts/{id}/proposals/{number}", get(proposal))
        .route("/v1/trusts/{id}/log", get(log))
        .route("/v1/trusts/{id}/checkpoint", get(checkpoint))
        .route("/v1/trusts/{id}/proof", get(proof))
        .route("/v1/trusts/{id}/{part}", get(part))
        .merge(writes)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(hub)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Serve `hub` on `listener` until SIGINT or SIGTERM; requests in flight (and so the
/// commits they wait for) finish before it returns.
pub fn serve(hub: Hub, listener: TcpListener) -> Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("start the server's runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, router(Arc::new(hub)))
            .with_graceful_shutdown(shutdown_signal())
            .await
    })
    .context("the server stopped")
}
