//! Prometheus metrics for `cltd serve`: transitions by verdict, bylaw fuel and latency, log
//! size, HTTP latency. One recorder per process, installed on first use.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use cltd_runtime::{Receipt, Verdict};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds, 100 µs to 10 s.
const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Fuel buckets.
const FUEL: &[f64] = &[1e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 1e9];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's metrics handle, installing the recorder the first time. `None` when
/// another recorder was installed first (metrics are then that recorder's business).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full("cltd_bylaw_fuel".into()), FUEL)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "cltd_transitions_total",
        "Signed transitions answered, by trust and verdict (allowed, denied, refused, failed)"
    );
    metrics::describe_histogram!(
        "cltd_bylaw_fuel",
        "Fuel the bylaw used per logged transition"
    );
    metrics::describe_histogram!(
        "cltd_bylaw_seconds",
        "Time the bylaw took to judge a transition (instantiation and call)"
    );
    metrics::describe_histogram!(
        "cltd_commit_seconds",
        "Time from receiving a signed transition to its durable receipt"
    );
    metrics::describe_gauge!("cltd_log_entries", "Entries in each trust's log");
    metrics::describe_histogram!(
        "cltd_http_request_seconds",
        "HTTP request latency by method, route and status"
    );
    metrics::describe_histogram!(
        "cltd_cluster_append_seconds",
        "Time to append one group commit's envelope to the replication engine"
    );
    metrics::describe_counter!(
        "cltd_cluster_appends_total",
        "Appends to the replication engine by outcome (ok, conflict, ambiguous, unavailable)"
    );
    metrics::describe_gauge!(
        "cltd_cluster_lag_entries",
        "Entries the engine holds of each trust that this node has not applied yet"
    );
    metrics::describe_counter!(
        "cltd_cluster_forwarded_total",
        "Transitions forwarded to the trust's writer, by outcome (answered, judged-here)"
    );
}

/// Record one append to the replication engine: its outcome and how long it took.
pub fn appended(outcome: &'static str, seconds: f64) {
    metrics::counter!("cltd_cluster_appends_total", "outcome" => outcome).increment(1);
    metrics::histogram!("cltd_cluster_append_seconds").record(seconds);
}

/// Set how many entries this node has yet to apply of a trust.
pub fn lag_is(trust: &str, entries: u64) {
    metrics::gauge!("cltd_cluster_lag_entries", "trust" => trust.to_string()).set(entries as f64);
}

/// Count a transition forwarded to the trust's writer.
pub fn forwarded(outcome: &'static str) {
    metrics::counter!("cltd_cluster_forwarded_total", "outcome" => outcome).increment(1);
}

/// Record a logged transition (allowed or denied by the bylaw, or `failed`: the bylaw
/// failed to judge it, logged as the host's denial `bylaw-failed`).
pub fn logged(trust: &str, receipt: &Receipt, log_size: u64, started: Instant) {
    let verdict = match &receipt.verdict {
        Verdict::Allow(_) => "allowed",
        Verdict::Deny(d) if d.code == cltd_runtime::BYLAW_FAILED => "failed",
        Verdict::Deny(_) => "denied",
    };
    metrics::counter!("cltd_transitions_total", "trust" => trust.to_string(), "verdict" => verdict)
        .increment(1);
    metrics::histogram!("cltd_bylaw_fuel").record(receipt.fuel as f64);
    metrics::histogram!("cltd_bylaw_seconds").record(receipt.bylaw_time.as_secs_f64());
    metrics::histogram!("cltd_commit_seconds").record(started.elapsed().as_secs_f64());
    log_size_is(trust, log_size);
}

/// Record a transition that was refused before the bylaw (`refused`), or that the host
/// could not have judged (`failed`: an engine fault, not the bylaw's); nothing was logged.
pub fn not_logged(trust: &str, verdict: &'static str) {
    metrics::counter!("cltd_transitions_total", "trust" => trust.to_string(), "verdict" => verdict)
        .increment(1);
}

/// Count an impact preview refused because the preview pool was full.
pub fn preview_refused() {
    metrics::counter!("cltd_previews_refused_total").increment(1);
}

/// Set a trust's log size.
pub fn log_size_is(trust: &str, size: u64) {
    metrics::gauge!("cltd_log_entries", "trust" => trust.to_string()).set(size as f64);
}

/// The trust a request is about: the segment after `/v1/trusts/` or `/trusts/` (empty for
/// the rest), for the request log.
pub(crate) fn trust_in(path: &str) -> &str {
    path.strip_prefix("/v1/trusts/")
        .or_else(|| path.strip_prefix("/trusts/"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
}

/// A request method as a metrics label: the standard methods by name, anything else
/// `other`, so no request can add a series (the label set stays closed).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: time every request under its route pattern (not its raw path, which would
/// make one series per proposal).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = method_label(request.method());
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::info!(
        target: "cltd::request",
        method,
        %route,
        %path,
        trust = trust_in(&path),
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
    );
    metrics::histogram!(
        "cltd_http_request_seconds",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}
