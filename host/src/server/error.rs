//! The API's errors: an HTTP status, a stable machine-readable code and a message, sent as
//! `{"error": {"code": "...", "message": "..."}}`. The codes are listed in `docs/api.md`
//! and in the OpenAPI document; they never change meaning.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cltd_runtime::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// An API error: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `bad-sequence`, `too-large`, `rate-limited`.
    pub code: String,
    /// What went wrong and, where it helps, what to do.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, stable `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 `not-found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 400 `bad-query` (a query string or path parameter that does not parse).
    pub fn bad_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-query", message)
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What a client is told of a 500: the cause (a storage error, say) goes to the server's
/// log, never to the client.
pub const INTERNAL_MESSAGE: &str =
    "an internal fault; its cause is in the server's log, and nothing was acknowledged";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(target: "cltd::request", code = self.code, cause = %self.message, "internal error");
            INTERNAL_MESSAGE.to_string()
        } else {
            self.message
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// The HTTP status the API sends with a stable `code` (from [`CODES`]; 500 for a code not
/// listed, which a test rules out).
pub fn status_of(code: &str) -> StatusCode {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .and_then(|(_, status, _)| StatusCode::from_u16(*status).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A hash, key or trust id in a path or query: 64 hex digits, else 400 `bad-query`.
pub fn parse_hash_param<T: std::str::FromStr>(text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_query(format!("`{text}` is not 64 hex digits")))
}

/// A stakeholder class named in a query (`?class=`), or 400 `bad-query`.
pub fn parse_class_param(name: &str) -> Result<cltd_runtime::StakeholderClass, ApiError> {
    cltd_runtime::StakeholderClass::parse(name)
        .ok_or_else(|| ApiError::bad_query(format!("`{name}` is not a stakeholder class")))
}

/// A number from a path or query: the API declares every count and index as a
/// non-negative 64-bit signed integer (what every JSON toolchain holds exactly), so a larger
/// one is refused with 400 `bad-query` rather than read as an unsigned number.
pub fn bounded(name: &str, value: u64) -> Result<u64, ApiError> {
    if i64::try_from(value).is_err() {
        return Err(ApiError::bad_query(format!(
            "{name}: {value} is larger than the largest index or count ({})",
            i64::MAX
        )));
    }
    Ok(value)
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let code = e.code();
        ApiError::new(status_of(code), code, e.to_string())
    }
}

/// Every stable error code, its status and meaning (the docs page and `docs/api.md` list
/// them; a test checks each one the server can produce is here).
pub const CODES: &[(&str, u16, &str)] = &[
    ("unsigned", 401, "a write without a member's signature"),
    (
        "bad-signature",
        401,
        "the signature does not verify for the key it names",
    ),
    (
        "bad-sequence",
        409,
        "not the signer's next sequence number (a replay, or out of order)",
    ),
    (
        "lifecycle",
        409,
        "the proposal is not in a state that allows this (closed, not yet ended, executed)",
    ),
    (
        "malformed",
        400,
        "the body is not a canonical signed transition",
    ),
    (
        "wrong-trust",
        400,
        "the transition was signed for another trust",
    ),
    ("bad-query", 400, "a query or path parameter does not parse"),
    (
        "writes-stopped",
        503,
        "a storage write failed (or, replicated, the log did not replay here); the trust takes no writes until the server is restarted",
    ),
    (
        "cluster-conflict",
        503,
        "other nodes kept extending this trust's replicated log while the write was judged again; nothing of it was logged: retry",
    ),
    (
        "cluster-ambiguous",
        503,
        "the replication engine did not confirm the write and could not be read back: it may yet appear in the log; resubmit the same signed bytes, do not sign again",
    ),
    (
        "cluster-unavailable",
        503,
        "the replication engine has no quorum or cannot be reached; nothing was logged, reads go on",
    ),
    (
        "behind",
        412,
        "this node has not yet applied as many log entries as `min-size` asks for: retry shortly, or ask another node",
    ),
    (
        "diverged",
        503,
        "the replicated log does not replay on this node; the trust is stopped here until an operator looks",
    ),
    (
        "not-found",
        404,
        "no such trust, proposal, module, entry or endpoint",
    ),
    (
        "too-large",
        413,
        "the body is larger than this endpoint accepts",
    ),
    (
        "invalid",
        422,
        "the host's rules refuse the transition (e.g. bad parameters, an empty id)",
    ),
    (
        "ledger",
        409,
        "the treasury ledger refuses it: an account would go negative, a budget line would be overspent, an unknown account or currency, an expenditure naming no line",
    ),
    (
        "amendment",
        422,
        "an amendment or upload is refused (no preview, not a member, bad module)",
    ),
    (
        "entrenched-clause",
        422,
        "a candidate bylaw breaks an entrenched clause",
    ),
    (
        "bad-charter",
        422,
        "the bylaw cannot run with the charter: an unknown key, a value it cannot parse or out of range",
    ),
    (
        "not-a-member",
        403,
        "the signer is not a member, and the bylaws do not let non-members take this action; nothing was written",
    ),
    (
        "bylaw-failed",
        422,
        "the bylaw failed (fuel, trap, invalid answer) where no signed transition could record it, e.g. a preview; nothing was written",
    ),
    ("module", 422, "a bylaw component could not be loaded"),
    (
        "rate-limited",
        429,
        "too many writes from this client; retry after the Retry-After seconds",
    ),
    (
        "method-not-allowed",
        405,
        "the endpoint exists but does not take this method (the `Allow` header lists those it does)",
    ),
    (
        "busy",
        503,
        "every impact-preview worker is busy and the queue is full; retry after the Retry-After seconds",
    ),
    (
        "uri-too-long",
        414,
        "the request target (path and query) is longer than the server accepts",
    ),
    (
        "headers-too-large",
        431,
        "the request has more header fields, or more header bytes, than the server accepts",
    ),
    (
        "timeout",
        408,
        "the request took too long; for a write, read the log: resubmitting is safe (409 if it landed)",
    ),
    (
        "internal",
        500,
        "a storage or server fault; nothing was acknowledged",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(e: ApiError) -> (StatusCode, String) {
        let response = e.into_response();
        let status = response.status();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn a_500_keeps_its_cause_off_the_wire_and_other_errors_say_what_went_wrong() {
        let (status, body) = body_of(ApiError::internal(
            "redb: I/O error writing /srv/trusts/secret/trust.redb",
        ));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains(INTERNAL_MESSAGE), "{body}");
        assert!(!body.contains("secret") && !body.contains("redb"), "{body}");
        let (status, body) = body_of(ApiError::not_found("no such proposal 9"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("no such proposal 9"), "{body}");
    }
}
