//! The API's documentation, generated from the code: `/openapi.json` (OpenAPI 3, from the
//! handlers' annotations) and `/docs`, a page rendered from that same document on the
//! server, so it works offline and carries no script. Also `/metrics` (Prometheus).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi as Document, RefOr};

use super::error::{ApiError, CODES};
use super::hub::Shared;
use super::limits::{MAX_MODULE, MAX_PAGE, MAX_TRANSITION};

/// The OpenAPI document, as served.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document", body = serde_json::Value)))]
pub async fn openapi_json(State(doc): State<Arc<Document>>) -> Response {
    match doc.to_pretty_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// The API documentation page.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "The API documented for people (HTML, no script)", body = String, content_type = "text/html")))]
pub async fn docs_page(State(doc): State<Arc<Document>>) -> Response {
    match DocsPage::of(&doc).render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition: `cltd_transitions_total{trust,verdict}`, `cltd_bylaw_fuel`, `cltd_bylaw_seconds`, `cltd_commit_seconds`, `cltd_log_entries{trust}`, `cltd_http_request_seconds{method,route,status}`", body = String, content_type = "text/plain")))]
pub async fn metrics() -> Response {
    match super::metrics::handle() {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal",
            "another metrics recorder is installed in this process",
        )
        .into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(paths(openapi_json, docs_page, metrics))]
struct Operations;

/// Add the documentation and metrics endpoints to `doc`.
pub fn add_operations(doc: &mut Document) {
    doc.merge(Operations::openapi());
    add_min_size(doc);
}

/// Every read about one trust takes `?min-size=N` (read-your-writes across the nodes of a
/// cluster; see `server::log_size`) and may answer 412 `behind`.
fn add_min_size(doc: &mut Document) {
    use utoipa::openapi::path::ParameterBuilder;
    use utoipa::openapi::{ObjectBuilder, Required, ResponseBuilder, Type};
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(get) = item.get.as_mut() else {
            continue;
        };
        if !path.starts_with("/v1/trusts/{id}") {
            continue;
        }
        get.parameters.get_or_insert_with(Vec::new).push(RefOr::T(
            ParameterBuilder::new()
                .name("min-size")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Answer only once this node holds at least this many entries of the trust's log (read your own writes on any node of a cluster); else 412 `behind`",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Int64,
                        )))
                        .minimum(Some(0)),
                ))
                .build(),
        ));
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ErrorBody",
                            ))))
                            .build(),
                    )
                    .build(),
            )
        };
        get.responses
            .responses
            .entry("400".to_string())
            .or_insert_with(|| error("`bad-query`: a query or path parameter does not parse"));
        get.responses.responses.insert(
            "412".to_string(),
            error("`behind`: this node holds fewer entries than `min-size` asks for"),
        );
    }
}

/// The routes for the document, its page and the metrics.
pub fn router(doc: Arc<Document>) -> axum::Router<Shared> {
    let docs = axum::Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
        .with_state(doc);
    axum::Router::new()
        .route("/metrics", get(metrics))
        .merge(docs)
}

/// One documented operation.
struct DocOp {
    method: &'static str,
    path: String,
    anchor: String,
    summary: String,
    description: String,
    params: Vec<(String, &'static str, String)>,
    body: Option<String>,
    responses: Vec<(String, String)>,
}

/// The `/docs` page.
#[derive(Template)]
#[template(path = "docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    ops: Vec<DocOp>,
    codes: Vec<(&'static str, u16, &'static str)>,
    limits: Vec<String>,
}

fn op(method: &'static str, path: &str, o: &Operation) -> DocOp {
    let summary = o.summary.clone().unwrap_or_default().replace('\n', " ");
    let description = o.description.clone().unwrap_or_default().replace('\n', " ");
    let params = o
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .map(|p| {
            let place = match p.parameter_in {
                ParameterIn::Path => "path",
                ParameterIn::Query | ParameterIn::QueryString => "query",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
            };
            (
                p.name.clone(),
                place,
                p.description.clone().unwrap_or_default(),
            )
        })
        .collect();
    let body = o.request_body.as_ref().map(|b| match b {
        RefOr::T(b) => {
            let types: Vec<&str> = b.content.keys().map(String::as_str).collect();
            format!(
                "{} ({})",
                b.description.clone().unwrap_or_default(),
                types.join(", ")
            )
        }
        RefOr::Ref(r) => r.ref_location.clone(),
    });
    let responses = o
        .responses
        .responses
        .iter()
        .map(|(status, r)| {
            let d = match r {
                RefOr::T(r) => r.description.clone(),
                RefOr::Ref(r) => r.ref_location.clone(),
            };
            (status.clone(), d)
        })
        .collect();
    DocOp {
        method,
        anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
        path: path.to_string(),
        summary,
        description,
        params,
        body,
        responses,
    }
}

impl DocsPage {
    fn of(doc: &Document) -> DocsPage {
        let mut ops = Vec::new();
        for (path, item) in &doc.paths.paths {
            for (method, o) in [("GET", &item.get), ("POST", &item.post)] {
                if let Some(o) = o {
                    ops.push(op(method, path, o));
                }
            }
        }
        DocsPage {
            title: doc.info.title.clone(),
            version: doc.info.version.clone(),
            description: doc.info.description.clone().unwrap_or_default(),
            ops,
            codes: CODES.to_vec(),
            limits: vec![
                format!("signed transition bodies: at most {MAX_TRANSITION} bytes"),
                format!("bylaw uploads: at most {MAX_MODULE} bytes"),
                format!("log pages: at most {MAX_PAGE} entries"),
                "writes per client address: rate-limited (`cltd serve --writes-per-second`, `--write-burst`); 429 with Retry-After beyond".to_string(),
                "requests time out (`--read-timeout`, `--write-timeout`): 408".to_string(),
            ],
        }
    }
}
