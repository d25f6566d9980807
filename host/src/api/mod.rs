//! `cltd serve`: the JSON API under `/v1` and the dashboard, for many trusts in one process.
//!
//! Writes carry a member-signed transition (the canonical envelope bytes, as
//! `application/octet-stream`): the server never holds members' keys. Errors are JSON,
//! `{"error": {"code": "...", "message": "..."}}`, with a stable code ([`error::CODES`]);
//! a bylaw's denial is a logged decision and comes back as a receipt whose verdict carries
//! the reason code. The OpenAPI document (`/openapi.json`) is generated from the handlers'
//! annotations; `/docs` renders it for people, offline.

pub mod docs;
pub mod error;
pub mod metrics;
pub mod reads;
pub mod writes;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cltd_runtime::{SystemClock, Trust};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::setup;

/// Largest signed transition accepted (the runtime's own limit).
pub const MAX_TRANSITION: usize = cltd_runtime::MAX_TRANSITION_BYTES;
/// Largest bylaw upload accepted (the runtime's component limit).
pub const MAX_MODULE: usize = cltd_runtime::MAX_COMPONENT_BYTES;
/// Most log entries one page returns.
pub const MAX_PAGE: usize = 1000;

/// A signed transition waiting for the next group commit, and where its answer goes.
pub(crate) struct Pending {
    /// The envelope bytes.
    pub bytes: axum::body::Bytes,
    /// When the request arrived (for the commit-latency metric).
    pub started: std::time::Instant,
    /// The answer.
    pub reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, ApiError>>,
}

/// One hosted trust: the trust itself, and the transitions queued for its next commit.
struct Slot {
    trust: Mutex<Trust>,
    queue: Mutex<Vec<Pending>>,
}

/// The trusts one server hosts, by id (hex).
pub struct Hub {
    trusts: BTreeMap<String, Slot>,
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
        let trusts = dirs
            .iter()
            .map(|dir| {
                Trust::open(dir, runtime.clone(), Box::new(SystemClock))
                    .with_context(|| format!("open the trust in {}", dir.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Hub::hosting(trusts))
    }

    /// Host trusts the caller has opened (on any storage backend, with any clock).
    pub fn hosting(trusts: Vec<Trust>) -> Hub {
        let mut hosted = BTreeMap::new();
        for trust in trusts {
            trust.prepare_candidates();
            metrics::log_size_is(&trust.id_hex(), trust.state().size);
            hosted.insert(
                trust.id_hex(),
                Slot {
                    trust: Mutex::new(trust),
                    queue: Mutex::new(Vec::new()),
                },
            );
        }
        Hub { trusts: hosted }
    }

    /// Number of trusts hosted.
    pub fn len(&self) -> usize {
        self.trusts.len()
    }

    /// True when it hosts none.
    pub fn is_empty(&self) -> bool {
        self.trusts.is_empty()
    }

    /// The hosted trusts' ids (hex), in order.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.trusts.keys()
    }
}

/// The state every handler shares.
pub type Shared = Arc<Hub>;

fn slot<'a>(hub: &'a Hub, id: &str) -> Result<&'a Slot, ApiError> {
    hub.trusts
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("this server hosts no trust {id}")))
}

/// Run `f` on trust `id` (hex), holding its lock.
pub fn with_trust<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut trust = slot(hub, id)?
        .trust
        .lock()
        .map_err(|_| ApiError::internal("a previous request panicked holding this trust"))?;
    f(&mut trust)
}

/// Queue a signed transition for trust `id`'s next group commit.
pub(crate) fn enqueue(hub: &Hub, id: &str, pending: Pending) -> Result<(), ApiError> {
    slot(hub, id)?
        .queue
        .lock()
        .map_err(|_| ApiError::internal("the commit queue is poisoned"))?
        .push(pending);
    Ok(())
}

/// Group commit: take the trust's lock, then every transition queued so far, and commit
/// them in one durable write ([`Trust::submit_batch`]); each is answered once the batch is
/// durable. Whoever gets the lock commits for everyone queued: while one batch waits on
/// the disk, the next gathers. Returns at once if another caller took this one's work.
pub(crate) fn commit_queued(
    hub: &Hub,
    id: &str,
    answer: impl Fn(
        &Trust,
        &Pending,
        cltd_runtime::Result<cltd_runtime::Receipt>,
    ) -> Result<serde_json::Value, ApiError>,
) {
    let Ok(slot) = slot(hub, id) else { return };
    let trust = slot.trust.lock();
    // The queue's lock is held only to push or take, never across a panic point.
    let batch: Vec<Pending> = match slot.queue.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    let Ok(mut trust) = trust else {
        // An earlier commit panicked with the trust in hand: answer at once rather than
        // leave these waiting for their timeout. Nothing of theirs was written.
        for pending in batch {
            let _ = pending.reply.send(Err(ApiError::internal(
                "this trust is unavailable after an internal fault; restart the server",
            )));
        }
        return;
    };
    if batch.is_empty() {
        return;
    }
    let refs: Vec<&[u8]> = batch.iter().map(|p| p.bytes.as_ref()).collect();
    let results = trust.submit_batch(&refs);
    for (pending, result) in batch.into_iter().zip(results) {
        let reply = answer(&trust, &pending, result);
        let _ = pending.reply.send(reply);
    }
}

/// Limits `cltd serve` applies.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a read may take before `408 timeout`.
    pub read_timeout: Duration,
    /// Longest a write may take (uploads compile, previews replay the log).
    pub write_timeout: Duration,
    /// Sustained writes per second allowed from one client address.
    pub writes_per_second: u32,
    /// Writes one client may make in a burst above that rate.
    pub write_burst: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(120),
            writes_per_second: 20,
            write_burst: 40,
        }
    }
}

/// The OpenAPI document's frame; paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cltd",
        description = "Governance runtime for digital Community Land Trusts: trusts, members, assets, proposals, the hashed log and its proofs, bylaw modules. Writes carry members' signatures; the server never holds their keys.",
    ),
    tags(
        (name = "trusts", description = "Trusts and their state"),
        (name = "proposals", description = "Proposals, live tallies, votes"),
        (name = "log", description = "The append-only log, checkpoints and proofs"),
        (name = "bylaws", description = "Bylaw modules and amendment impact previews"),
        (name = "writes", description = "Signed transitions, uploads, previews"),
        (name = "operations", description = "Health, readiness, metrics"),
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, writes::CharterChanges))
)]
struct ApiDoc;

/// Turn the plain-text errors of the limit layers (413, 408) into the API's JSON errors.
async fn json_limits(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "too large: a signed transition is at most {MAX_TRANSITION} bytes, a bylaw upload at most {MAX_MODULE}"
            ),
        )
        .into_response(),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request took too long; for a write, read the log before resubmitting (a resubmitted transition that already landed gets 409)",
        )
        .into_response(),
        _ => response,
    }
}

fn rate_limited(e: tower_governor::GovernorError) -> Response {
    match e {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many writes from this address; retry in {wait_time} s"),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait_time));
            r
        }
        other => ApiError::internal(other.to_string()).into_response(),
    }
}

/// The whole application: API, docs, metrics and dashboard.
pub fn router(hub: Arc<Hub>, limits: &Limits) -> Router {
    let (reads, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(reads::healthz))
        .routes(routes!(reads::readyz))
        .routes(routes!(reads::trusts))
        .routes(routes!(reads::trust))
        .routes(routes!(reads::members))
        .routes(routes!(reads::assets))
        .routes(routes!(reads::proposals))
        .routes(routes!(reads::grants))
        .routes(routes!(reads::proposal))
        .routes(routes!(reads::votes))
        .routes(routes!(reads::proposal_preview))
        .routes(routes!(reads::log))
        .routes(routes!(reads::checkpoint))
        .routes(routes!(reads::proof))
        .routes(routes!(reads::modules))
        .routes(routes!(reads::module))
        .routes(routes!(reads::component))
        .routes(routes!(reads::signer))
        .split_for_parts();
    let (small_writes, small_doc) = OpenApiRouter::new()
        .routes(routes!(writes::submit))
        .routes(routes!(writes::preview))
        .layer(DefaultBodyLimit::max(MAX_TRANSITION))
        .layer(RequestBodyLimitLayer::new(MAX_TRANSITION))
        .split_for_parts();
    let (uploads, upload_doc) = OpenApiRouter::new()
        .routes(routes!(writes::upload))
        .layer(DefaultBodyLimit::max(MAX_MODULE))
        .layer(RequestBodyLimitLayer::new(MAX_MODULE))
        .split_for_parts();
    doc.merge(small_doc);
    doc.merge(upload_doc);
    docs::add_operations(&mut doc);
    let governor = GovernorConfigBuilder::default()
        .period(Duration::from_nanos(
            (1_000_000_000 / u64::from(limits.writes_per_second.max(1))).max(1),
        ))
        .burst_size(limits.write_burst.max(1))
        .finish()
        .expect("a positive period and burst");
    let limiter = governor.limiter().clone();
    // Forget idle clients now and then so the limiter's memory stays bounded.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            limiter.retain_recent();
        }
    });
    let writes = small_writes
        .merge(uploads)
        .layer(GovernorLayer::new(governor).error_handler(rate_limited))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.write_timeout,
        ));
    let reads = reads
        .merge(docs::router(Arc::new(doc)))
        .merge(crate::dashboard::router())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.read_timeout,
        ));
    Router::new()
        .merge(reads)
        .merge(writes)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::map_response(json_limits))
        .layer(axum::middleware::from_fn(metrics::track))
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
pub fn serve(hub: Hub, listener: TcpListener, limits: &Limits) -> Result<()> {
    listener.set_nonblocking(true)?;
    metrics::handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("start the server's runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = router(Arc::new(hub), limits);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    })
    .context("the server stopped")
}
