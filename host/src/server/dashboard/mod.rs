//! The dashboard: server-rendered pages for members, trusts and auditors, in the same
//! binary as the API. Reading needs no JavaScript; acting (voting, closing, executing) signs
//! the transition in the browser with the member's key file (WebCrypto Ed25519), so the key
//! never leaves the member's machine. Everything the pages use is served from the binary.

mod views;

use askama::Template;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::server::error::{ApiError, parse_class_param, parse_hash_param};
use crate::server::hub::{Shared, read};
use views::{
    AssetsPage, AuditPage, BylawsPage, IndexPage, LogPage, MembersPage, OverviewPage, ProposalPage,
    ProposalsPage, RoundPage, TreasuryPage,
};

/// The stylesheet (screen and print).
const STYLE: &str = include_str!("../../../assets/style.css");
/// The in-browser signer.
const SIGN_JS: &str = include_str!("../../../assets/sign.js");

/// A page that could not be shown, as an HTML page with the API error's status.
struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'static str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let title = match status.as_u16() {
            404 => "Not found",
            400 => "Bad request",
            _ => "Something went wrong",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: self.0.message(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => self.0.into_response(),
        }
    }
}

fn page(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| ApiError::internal(format!("render the page: {e}")).into())
}

async fn index(State(hub): State<Shared>) -> Result<Html<String>, PageError> {
    let mut rows = Vec::new();
    for id in hub.ids() {
        rows.push(read(&hub, &id, |t| Ok(views::TrustRow::of(t)))?);
    }
    let warning = hub
        .cluster()
        .and_then(|node| node.lazy_fsync())
        .map(|servers| crate::server::api::reads::lazy_fsync_warning(&servers));
    page(&IndexPage {
        trusts: rows,
        warning,
    })
}

async fn overview(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, OverviewPage::of)?;
    page(&p)
}

/// `?class=NAME&after=KEY`: which page of members to show.
#[derive(Deserialize)]
struct MembersQuery {
    class: Option<String>,
    after: Option<String>,
}

async fn members(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<MembersQuery>,
) -> Result<Html<String>, PageError> {
    let class = q.class.as_deref().map(parse_class_param).transpose()?;
    let after = q
        .after
        .as_deref()
        .map(parse_hash_param::<cltd_runtime::MemberKey>)
        .transpose()?;
    let p = read(&hub, &id, |t| Ok(MembersPage::of(t, class, after.as_ref())))?;
    page(&p)
}

async fn assets(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, |t| Ok(AssetsPage::of(t)))?;
    page(&p)
}

/// `?before=N`: which page of proposals to show (those numbered below N).
#[derive(Deserialize)]
struct ProposalsQuery {
    before: Option<u64>,
}

async fn proposals(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ProposalsQuery>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, |t| Ok(ProposalsPage::of(t, q.before)))?;
    page(&p)
}

/// `?logged=N`: the page was reached after a signed transition was logged as entry N.
#[derive(Deserialize)]
struct Logged {
    logged: Option<u64>,
}

async fn proposal(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
    Query(q): Query<Logged>,
    headers: axum::http::HeaderMap,
) -> Result<Html<String>, PageError> {
    let mut p = read(&hub, &id, |t| ProposalPage::of(t, number, q.logged))?;
    p.server = server_url(&headers);
    page(&p)
}

async fn treasury(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, |t| Ok(TreasuryPage::of(t)))?;
    page(&p)
}

async fn round(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, |t| {
        RoundPage::of(t, number).ok_or_else(|| {
            ApiError::not_found(format!("proposal {number} is not a budgeting round"))
        })
    })?;
    page(&p)
}

/// This server's URL as the client reached it: the `Host` header, over https when a proxy
/// says so (`X-Forwarded-Proto`). Only characters a URL's authority may hold are kept.
fn server_url(headers: &axum::http::HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let host: String = header("host")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(*c))
        .collect();
    let scheme = if header("x-forwarded-proto") == "https" {
        "https"
    } else {
        "http"
    };
    if host.is_empty() {
        "URL".into()
    } else {
        format!("{scheme}://{host}")
    }
}

/// `?from=N`: the first entry shown.
#[derive(Deserialize)]
struct LogFrom {
    from: Option<u64>,
}

async fn log(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<LogFrom>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, |t| LogPage::of(t, q.from))?;
    page(&p)
}

async fn bylaws(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, BylawsPage::of)?;
    page(&p)
}

async fn audit(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, PageError> {
    let p = read(&hub, &id, AuditPage::of)?;
    page(&p)
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's routes (HTML pages and the two assets they use).
pub fn router() -> Router<Shared> {
    page_routes().layer(axum::middleware::map_response(secure_headers))
}

/// What a browser may do with a dashboard page: scripts only from this server's own files
/// (no inline script, no eval), no framing by other sites (clickjacking), no referrer sent
/// on. Inline `style` attributes stay allowed: the tally bars are drawn with them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn secure_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn page_routes() -> Router<Shared> {
    Router::new()
        .route("/", get(index))
        .route("/trusts/{id}", get(overview))
        .route("/trusts/{id}/members", get(members))
        .route("/trusts/{id}/assets", get(assets))
        .route("/trusts/{id}/proposals", get(proposals))
        .route("/trusts/{id}/proposals/{number}", get(proposal))
        .route("/trusts/{id}/treasury", get(treasury))
        .route("/trusts/{id}/rounds/{number}", get(round))
        .route("/trusts/{id}/log", get(log))
        .route("/trusts/{id}/bylaws", get(bylaws))
        .route("/trusts/{id}/audit", get(audit))
        .route(
            "/assets/style.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/sign.js",
            get(|| async { asset(SIGN_JS, "text/javascript; charset=utf-8") }),
        )
}
