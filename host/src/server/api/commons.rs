//! The commons economy's reads: the treasury (balances, budget lines, the ledger's latest
//! payments, licences, the fee schedule) and a budgeting round's projects and result.

use axum::extract::{Path as UrlPath, State};

use crate::server::error::{ApiError, ErrorBody, bounded};
use crate::server::hub::{Shared, read};
use crate::wire::{RoundDoc, TreasuryDoc};

/// The treasury: every account's balance, every budget line and what is left of it, the
/// latest payments (newest first), the licences made and the fee schedule in force. A trust
/// founded without a currency keeps none (`currency` is null, the lists empty).
#[utoipa::path(get, path = "/v1/trusts/{id}/treasury", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "The treasury", body = TreasuryDoc),
              (status = 400, description = "`bad-query`: a path parameter does not parse", body = ErrorBody),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn treasury(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<axum::Json<TreasuryDoc>, ApiError> {
    read(&hub, &id, |t| {
        Ok(axum::Json(TreasuryDoc::of(t.state(), t.now())))
    })
}

/// A participatory budgeting round: its phase, budget, projects with their approvals and,
/// once closed, which were funded and why, and the budget left unspent.
#[utoipa::path(get, path = "/v1/trusts/{id}/rounds/{number}", tag = "proposals",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("number" = u64, Path, description = "The round's proposal number", minimum = 0, maximum = 9223372036854775807_i64)),
    responses((status = 200, description = "The round", body = RoundDoc),
              (status = 400, description = "`bad-query`: a path parameter does not parse", body = ErrorBody),
              (status = 404, description = "No such trust, or proposal N is not a budgeting round", body = ErrorBody)))]
pub async fn round(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
) -> Result<axum::Json<RoundDoc>, ApiError> {
    bounded("number", number)?;
    read(&hub, &id, |t| {
        RoundDoc::of(t.state(), number, t.now())
            .map(axum::Json)
            .ok_or_else(|| {
                ApiError::not_found(format!("proposal {number} is not a budgeting round"))
            })
    })
}
