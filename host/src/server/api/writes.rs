//! The API's writes: member-signed transitions, signed bylaw uploads, and impact previews.
//! The server never holds a member's key: every write that changes governance state carries
//! the member's signature, checked (with the signer's sequence number) before the bylaw runs.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use cltd_runtime::{Error, Receipt, Trust, UploadSignature};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::render;
use crate::server::error::{ApiError, ErrorBody, parse_hash_param};
use crate::server::hub::{PoolError, Shared, snapshot, submit as submit_transition, with_trust};
use crate::server::limits::{MAX_MODULE, MAX_TRANSITION};
use crate::server::metrics;
use crate::wire::{Binary, ModuleDoc, PreviewDoc, ReceiptDoc, VerdictDoc};

/// Header naming the uploading member's public key (hex).
pub const SIGNER_HEADER: &str = "cltd-signer";
/// Header carrying the member's upload signature (hex, 64 bytes).
pub const SIGNATURE_HEADER: &str = "cltd-signature";

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

/// Submit a member-signed transition: the canonical envelope bytes (`postcard` of the body
/// and its ed25519 signature over `cltd/transition/v1\0 ‖ body`; see docs/design.md). The
/// answer comes once the entry is durable. Transitions that arrive while a commit is in
/// progress are committed together in the next one (group commit). A bylaw's denial is logged too and comes back
/// as `200` with `verdict.allowed = false`, its reason code, clause and explanation.
#[utoipa::path(post, path = "/v1/trusts/{id}/transitions", tag = "writes",
    params(("id" = String, Path, description = "The trust id (hex)")),
    request_body(content = Binary, content_type = "application/octet-stream",
        description = "The signed transition's canonical envelope bytes (at most 64 KiB)"),
    responses((status = 200, description = "Logged: the receipt", body = ReceiptDoc),
              (status = 400, description = "`malformed` or `wrong-trust`", body = ErrorBody),
              (status = 401, description = "`unsigned` or `bad-signature`", body = ErrorBody),
              (status = 404, description = "No such trust, or the proposal named does not exist", body = ErrorBody),
              (status = 409, description = "`bad-sequence` (a replay) or `lifecycle`", body = ErrorBody),
              (status = 413, description = "`too-large`", body = ErrorBody),
              (status = 422, description = "`invalid`, `amendment`, `entrenched-clause` or `bylaw-failed`", body = ErrorBody),
              (status = 429, description = "`rate-limited`", body = ErrorBody)))]
pub async fn submit(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Result<axum::Json<ReceiptDoc>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            "the body must be a member-signed transition (canonical envelope bytes)",
        ));
    }
    if let Some(node) = hub.cluster().cloned() {
        let writer = node.writer_of(&id);
        if writer != node.id()
            && let Some(answer) = node.forward(&writer, &id, body.to_vec()).await
        {
            return forwarded(answer);
        }
    }
    commit(hub, id, body.to_vec()).await.map(axum::Json)
}

/// The writer's answer to a transition this node forwarded, as this node's own answer.
fn forwarded(answer: crate::cluster::node::Forwarded) -> Result<axum::Json<ReceiptDoc>, ApiError> {
    match answer.receipt {
        Some(receipt) if answer.status == 200 => Ok(axum::Json(receipt)),
        _ => {
            let code = answer.code.unwrap_or_default();
            let code = crate::server::error::CODES
                .iter()
                .map(|(c, _, _)| *c)
                .find(|c| *c == code)
                .unwrap_or("internal");
            Err(ApiError::new(
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                code,
                answer.message.unwrap_or_default(),
            ))
        }
    }
}

/// Commit signed transition bytes to trust `id` on this node (its group committer) and
/// render the receipt: what `POST /v1/trusts/{id}/transitions` does on the trust's writer,
/// and what a writer does with a transition another node forwarded.
pub(crate) async fn commit(hub: Shared, id: String, body: Vec<u8>) -> Result<ReceiptDoc, ApiError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let started = Instant::now();
    let trust_id = id.clone();
    // The signature is checked and the group committed on a blocking thread; whichever
    // submitter gets the trust first commits this transition with the others queued, and
    // the answer arrives on the channel either way.
    blocking(move || {
        submit_transition(&hub, &id, &body, move |result| {
            let _ = reply.send(receipt(&trust_id, started, result));
        })
    })
    .await?;
    answer
        .await
        .map_err(|_| ApiError::internal("the commit was abandoned"))?
}

/// The answer to one transition of a group commit, with its metrics, rendered with the
/// trust as it stands after the commit.
fn receipt(
    id: &str,
    started: Instant,
    result: cltd_runtime::Result<(&Trust, Receipt)>,
) -> Result<ReceiptDoc, ApiError> {
    match result {
        Ok((t, r)) => {
            metrics::logged(id, &r, t.state().size, started);
            let s = t.state();
            let recorded = render::as_recorded(s, &r.action, &r.verdict);
            Ok(ReceiptDoc {
                index: r.index,
                entry_hash: hex::encode(r.entry_hash),
                time: r.time,
                signer: hex::encode(r.signer),
                signer_name: s.who(r.signer),
                action: render::action_text(s, &r.action),
                module: hex::encode(r.module),
                verdict: VerdictDoc::of(&recorded),
                verdict_text: render::verdict_text(&recorded),
                effects: r
                    .effects
                    .iter()
                    .map(|e| render::effect_text(s, e))
                    .collect(),
                proposal_opened: r.effects.iter().find_map(|e| match e {
                    cltd_runtime::Effect::ProposalOpened { proposal, .. } => Some(*proposal),
                    _ => None,
                }),
                fuel: r.fuel,
            })
        }
        Err(e) => {
            let kind = if matches!(e, Error::Eval(_)) {
                "failed"
            } else {
                "refused"
            };
            metrics::not_logged(id, kind);
            Err(e.into())
        }
    }
}

fn header_hex<const N: usize>(headers: &HeaderMap, name: &str) -> Result<[u8; N], ApiError> {
    let unsigned = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            format!(
                "a signed upload or preview needs both headers {SIGNER_HEADER} (member key, hex) and {SIGNATURE_HEADER} (hex ed25519 signature: over `cltd/upload/v1\\0` ‖ trust id ‖ component hash for an upload, `cltd/preview/v1\\0` ‖ trust id ‖ module hash ‖ postcard(charter) for a preview)"
            ),
        )
    };
    let text = headers
        .get(name)
        .ok_or_else(unsigned)?
        .to_str()
        .map_err(|_| unsigned())?;
    let bytes = hex::decode(text.trim()).map_err(|_| unsigned())?;
    bytes.try_into().map_err(|_| unsigned())
}

/// Upload a candidate bylaw component (at most 2 MiB), approved by a member's signature in
/// the `cltd-signer` and `cltd-signature` headers over `cltd/upload/v1\0 ‖ trust id ‖
/// blake3(component)`. Checked (size, signature, membership, world, imports, a bounded
/// compile) before it is stored; idempotent. Uploading changes no governance state: only an
/// amendment the members pass puts a module in force.
#[utoipa::path(post, path = "/v1/trusts/{id}/modules", tag = "writes",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("cltd-signer" = String, Header, description = "The uploading member's key (hex)"),
           ("cltd-signature" = String, Header, description = "The member's upload signature (hex)")),
    request_body(content = Binary, content_type = "application/wasm",
        description = "The bylaw component (or a core module with wit-bindgen's component type)"),
    responses((status = 200, description = "Stored: `{module, size, new, name, version, summary}`", body = ModuleDoc),
              (status = 401, description = "`unsigned` or `bad-signature`", body = ErrorBody),
              (status = 404, description = "No such trust", body = ErrorBody),
              (status = 413, description = "`too-large`", body = ErrorBody),
              (status = 422, description = "`amendment` (not a member, not a valid bylaw)", body = ErrorBody),
              (status = 429, description = "`rate-limited`", body = ErrorBody)))]
pub async fn upload(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<ModuleDoc>, ApiError> {
    let approval = UploadSignature {
        signer: cltd_runtime::MemberKey(header_hex::<32>(&headers, SIGNER_HEADER)?),
        signature: header_hex::<64>(&headers, SIGNATURE_HEADER)?.to_vec(),
    };
    // Checked and compiled on the snapshot, off the trust's lock; stored under it.
    let snap = snapshot(&hub, &id)?;
    blocking(move || {
        let checked = snap.check_upload(&body, &approval)?;
        with_trust(&hub, &id, |t| {
            let up = t.store_upload(checked)?;
            // A cluster node shares the module before answering, so that no entry naming it
            // can be appended before every node can fetch it.
            if let Some(node) = hub.cluster() {
                node.share_modules(t).map_err(|e| {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "cluster-unavailable",
                        format!("the module is stored on this node but not yet in the cluster's module store ({e:#}); upload it again"),
                    )
                })?;
            }
            Ok(axum::Json(ModuleDoc {
                module: hex::encode(up.hash),
                size: up.size,
                in_force: None,
                new: Some(up.new),
                name: up.info.name,
                version: up.info.version,
                summary: up.info.summary,
            }))
        })
    })
    .await
}

/// The charter an amendment would propose: the charter in force with these changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CharterChanges {
    /// Parameters to set (key to value).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Parameters to remove.
    #[serde(default)]
    pub unset: Vec<String>,
}

/// The impact preview of a stored candidate with the charter in force changed as given:
/// what it would have decided over the whole log, and its conformance to the entrenched
/// clauses. Anyone may ask; only a member's signature stores it (headers `cltd-signer` and
/// `cltd-signature`, an ed25519 signature over `cltd/preview/v1\0 ‖ trust id ‖ module hash ‖
/// postcard(proposed charter)`), and an amendment cannot open until its preview is stored.
/// A stored preview that an amendment proposal names is that amendment's record: it is
/// never replaced. The answer says `stored`.
#[utoipa::path(post, path = "/v1/trusts/{id}/modules/{hash}/preview", tag = "writes",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("hash" = String, Path, description = "A stored candidate's hash (hex)", pattern = "^[0-9a-fA-F]{64}$")),
    request_body(content = CharterChanges, content_type = "application/json"),
    responses((status = 200, description = "The impact preview, with `stored`", body = PreviewDoc),
              (status = 400, description = "`bad-query`", body = ErrorBody),
              (status = 401, description = "`unsigned` (one header of the two) or `bad-signature`", body = ErrorBody),
              (status = 404, description = "No such trust or module", body = ErrorBody),
              (status = 408, description = "`timeout`", body = ErrorBody),
              (status = 422, description = "`invalid` charter or the candidate failed", body = ErrorBody),
              (status = 429, description = "`rate-limited`", body = ErrorBody)))]
pub async fn preview(
    State(hub): State<Shared>,
    UrlPath((id, hash)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<PreviewDoc>, PoolError> {
    let module: cltd_runtime::ModuleHash = parse_hash_param(&hash)?;
    let approval = if headers.contains_key(SIGNER_HEADER) || headers.contains_key(SIGNATURE_HEADER)
    {
        Some(UploadSignature {
            signer: cltd_runtime::MemberKey(header_hex::<32>(&headers, SIGNER_HEADER)?),
            signature: header_hex::<64>(&headers, SIGNATURE_HEADER)?.to_vec(),
        })
    } else {
        None
    };
    let changes: CharterChanges = if body.is_empty() {
        CharterChanges::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the body must be {{\"set\": {{KEY: VALUE}}, \"unset\": [KEY]}}: {e}"),
            )
        })?
    };
    let snap = snapshot(&hub, &id)?;
    if snap.module_bytes(&module)?.is_none() {
        return Err(ApiError::not_found(format!(
            "no module {} is stored (upload it first)",
            hex::encode(module)
        ))
        .into());
    }
    let set: Vec<(String, String)> = changes
        .set
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let proposed = cltd_runtime::amended_charter(&snap.state().charter, &set, &changes.unset)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()))?;
    // A signed request is checked before any work is queued for it.
    if let Some(approval) = &approval {
        snap.check_preview_approval(&module, &proposed, approval)?;
    }
    // Computed on the snapshot, on the preview pool, never under the trust's lock.
    let on = snap.clone();
    let report = hub
        .previews()
        .run(move |deadline| {
            Ok(on.compute_preview_until(&module, &proposed, Some(deadline), &mut |_, _| {})?)
        })
        .await?;
    let stored = match approval {
        None => false,
        Some(_) => {
            let report = report.clone();
            blocking(move || {
                let stored = with_trust(&hub, &id, |t| Ok(t.store_preview(&report)?))?;
                // A cluster node shares it before answering, so that the amendment may be
                // proposed through any node (the writer must hold the preview to open it).
                if let Some(node) = hub.cluster() {
                    node.share_preview(&id, &report).map_err(|e| {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "cluster-unavailable",
                            format!("the preview is stored on this node but not yet shared with the cluster ({e}); ask again"),
                        )
                    })?;
                }
                Ok(stored)
            })
            .await?
        }
    };
    let mut answer = PreviewDoc::of(snap.state(), &report);
    answer.stored = Some(stored);
    Ok(axum::Json(answer))
}

/// Largest bodies, for the docs.
pub const LIMITS: [(&str, usize); 2] = [
    ("signed transition", MAX_TRANSITION),
    ("bylaw component upload", MAX_MODULE),
];
