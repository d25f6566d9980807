//! `cltd serve`: the JSON API under `/v1` and the dashboard, for many trusts in one process.
//!
//! Writes carry a member-signed transition (the canonical envelope bytes, as
//! `application/octet-stream`): the server never holds members' keys. Errors are JSON,
//! `{"error": {"code": "...", "message": "..."}}`, with a stable code ([`error::CODES`]);
//! a bylaw's denial is a logged decision and comes back as a receipt whose verdict carries
//! the reason code. The OpenAPI document (`/openapi.json`) is generated from the handlers'
//! annotations; `/docs` renders it for people, offline.

pub mod api;
mod connections;
pub mod dashboard;
pub mod docs;
pub mod error;
pub mod hub;
pub mod limits;
pub mod metrics;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use hub::{Hub, Shared, read, read_blocking, snapshot, with_trust};
pub use limits::{Limits, MAX_MODULE, MAX_PAGE, MAX_TRANSITION};

use api::{commons, reads, writes};

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

/// Every error the API sends is its JSON shape, whoever produced it: the limit layers' 413
/// and 408, axum's 405 and its extractors' plain-text rejections (a path or query parameter
/// that does not parse) are rewritten here, keeping the rejection's text as the message. A
/// 413 or 429 also closes the connection (`Connection: close`): the body the client sent
/// was not read, so the connection cannot carry a next request. The operations probes
/// (`/healthz`, `/readyz`, `/metrics`) answer plain text by design and are left alone.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let probe = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let response = next.run(request).await;
    if probe {
        return response;
    }
    let status = response.status();
    // JSON is the API's already; HTML is a dashboard page's own error page.
    let formed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    let mut response = if formed || !(status.is_client_error() || status.is_server_error()) {
        response
    } else {
        let (parts, body) = response.into_parts();
        let text = axum::body::to_bytes(body, 4096)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let (code, message) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (
                "too-large",
                format!(
                    "too large: a signed transition is at most {MAX_TRANSITION} bytes, a bylaw upload at most {MAX_MODULE}"
                ),
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "timeout",
                "the request took too long; for a write, read the log before resubmitting (a resubmitted transition that already landed gets 409)".to_string(),
            ),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "this endpoint does not take that method (see /docs)".to_string(),
            ),
            StatusCode::NOT_FOUND => ("not-found", "no such endpoint".to_string()),
            s if s.is_server_error() => ("internal", "a server fault".to_string()),
            _ if text.is_empty() => ("bad-query", "the request does not parse".to_string()),
            _ => ("bad-query", text),
        };
        let mut rewritten = ApiError::new(status, code, message).into_response();
        // Keep `Allow` (405) and `Retry-After`.
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(v) = parts.headers.get(&name) {
                rewritten.headers_mut().insert(name, v.clone());
            }
        }
        rewritten
    };
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS
    ) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Longest request target (path and query) accepted; longer is 414 `uri-too-long`.
pub const MAX_URI: usize = 8 * 1024;
/// Most header bytes (names and values) accepted; more is 431 `headers-too-large`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header fields accepted; more is 431 `headers-too-large`.
pub const MAX_HEADERS: usize = 100;

/// Request heads are bounded here, below hyper's own limits (which hyper enforces with an
/// empty 414 or 431 before any middleware runs), so that an over-long target or too many
/// or too large headers get the API's JSON error like every other refusal. The connection
/// is then closed.
async fn head_limits(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let refusal = if target > MAX_URI {
        Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("the request target is {target} bytes; at most {MAX_URI} are accepted"),
        ))
    } else if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        Some(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!(
                "{} header fields of {header_bytes} bytes; at most {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes are accepted",
                headers.len()
            ),
        ))
    } else {
        None
    };
    match refusal {
        None => next.run(request).await,
        Some(e) => {
            let mut response = e.into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// The write routes take POST only: any other method is answered 405 here, before the
/// write rate limit, so a client that GETs a write route is told so and spends none of
/// its writes.
async fn post_only(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.method() == axum::http::Method::POST {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this endpoint takes POST (see /docs)",
    )
    .into_response();
    // A bylaw upload shares its path with the module list, which is read with GET.
    let allow = if request.uri().path().ends_with("/modules") {
        "GET, HEAD, POST"
    } else {
        "POST"
    };
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn rate_limited(e: tower_governor::GovernorError) -> Response {
    match e {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            // Whole seconds, at least one: `Retry-After: 0` invites an immediate retry.
            let wait = wait_time.max(1);
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many writes from this address; retry in {wait} s"),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
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
        .routes(routes!(commons::treasury))
        .routes(routes!(commons::round))
        .routes(routes!(reads::proposal))
        .routes(routes!(reads::votes))
        .routes(routes!(reads::proposal_preview))
        .routes(routes!(reads::log))
        .routes(routes!(reads::checkpoint))
        .routes(routes!(reads::proof))
        .routes(routes!(reads::modules))
        .routes(routes!(reads::module))
        .routes(routes!(reads::component))
        .routes(routes!(reads::bundle))
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
        ))
        .layer(axum::middleware::from_fn(post_only));
    let reads = reads
        .merge(docs::router(Arc::new(doc)))
        .merge(dashboard::router())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.read_timeout,
        ));
    Router::new()
        .merge(reads)
        .merge(writes)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(hub.clone(), log_size))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(head_limits))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(hub)
}

/// The response header carrying the answering node's log size of the trust a request is
/// about (with `?min-size=N`, a client reads its own writes on any node of a cluster).
pub const LOG_SIZE_HEADER: &str = "cltd-log-size";

/// Middleware on requests about one trust (`/v1/trusts/{id}/...`): `?min-size=N` makes a
/// read wait until this node has applied at least N entries of the trust's log (a cluster
/// node catches up first; still short, it answers 412 `behind`), and every answer carries
/// the node's log size in `cltd-log-size`.
async fn log_size(
    axum::extract::State(hub): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let id = path
        .strip_prefix("/v1/trusts/")
        .map(|_| metrics::trust_in(path).to_string())
        .filter(|id| hub.hosts(id));
    let Some(id) = id else {
        return next.run(request).await;
    };
    let min_size = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("min-size="))
            .map(str::to_string)
    });
    let mut short = None;
    if let Some(min) = min_size {
        // At most i64::MAX, as the OpenAPI document says (an int64).
        let Some(min) = min.parse::<i64>().ok().and_then(|m| u64::try_from(m).ok()) else {
            return ApiError::bad_query(
                "min-size must be a whole number of log entries (0 to 9223372036854775807)",
            )
            .into_response();
        };
        let size = |hub: &Hub| hub::snapshot(hub, &id).map(|s| s.state().size).unwrap_or(0);
        if size(&hub) < min && hub.cluster().is_some() {
            let (h, i) = (hub.clone(), id.clone());
            let _ = tokio::task::spawn_blocking(move || hub::catch_up(&h, &i)).await;
        }
        let have = size(&hub);
        if have < min {
            short = Some((have, min));
        }
    }
    let mut response = next.run(request).await;
    // The request's own faults (a bad parameter) are answered as such; a good one that
    // this node cannot answer fresh enough is `behind`.
    if let Some((have, min)) = short
        && response.status().is_success()
    {
        response = ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "behind",
            format!(
                "this node holds {have} entries of the trust's log, fewer than the {min} asked for (min-size): retry shortly, or ask another node"
            ),
        )
        .into_response();
    }
    if let Ok(s) = hub::snapshot(&hub, &id)
        && let Ok(v) = HeaderValue::from_str(&s.state().size.to_string())
    {
        response.headers_mut().insert(LOG_SIZE_HEADER, v);
    }
    response
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
///
/// Connections are accepted here rather than by `axum::serve`, so that hyper's header-read
/// timeout has a timer behind it (without one it is silently off): a client that dribbles
/// its request head or never finishes its request line is cut off after
/// `limits.header_timeout`. A client address holding `limits.connections_per_client`
/// connections has further ones closed as soon as they are accepted.
pub fn serve(mut hub: Hub, listener: TcpListener, limits: &Limits) -> Result<()> {
    hub.limit_previews(limits);
    serve_shared(Arc::new(hub), listener, limits)
}

/// [`serve`] a hub the caller keeps a handle on (to reach its trusts while it serves, as
/// tests do); its preview pool is as the hub was built ([`Hub::limit_previews`]).
pub fn serve_shared(hub: Shared, listener: TcpListener, limits: &Limits) -> Result<()> {
    listener.set_nonblocking(true)?;
    metrics::handle();
    // Several workers: a handler waiting for a trust's lock gives its worker up
    // (`hub::with_trust`), and the others keep accepting and answering.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cltd-serve")
        .enable_io()
        .enable_time()
        .build()
        .context("start the server's runtime")?;
    let header_timeout = limits.header_timeout;
    let per_client = limits.connections_per_client;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = router(hub, limits);
        let open = connections::Open::default();
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown_signal());
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: back off rather than spin.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Some(slot) = open.take(peer.ip(), per_client) else {
                tracing::debug!(%peer, "too many connections from this address; closed");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(
                app.clone()
                    .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                // Above `MAX_HEADERS`, so that `head_limits` answers with JSON.
                .max_headers(4 * MAX_HEADERS)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                drop(slot);
            });
        }
        drop(listener);
        graceful.shutdown().await;
        Ok::<(), std::io::Error>(())
    })
    .context("the server stopped")
}
