//! The API's reads: trusts, their members, assets, proposals (with live tallies and the
//! bylaw's dry-run verdict), votes, grants, the log, checkpoints, proofs, bylaw modules and
//! amendment impact previews. Every handler here only reads.

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header;
use axum::response::Response;
use cltd_runtime::{ModuleHash, ProposalBody, Snapshot};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::render;
use crate::server::error::{ApiError, ErrorBody, bounded, parse_class_param, parse_hash_param};
use crate::server::hub::{Shared, read};
use crate::server::limits::MAX_PAGE;
use crate::wire::*;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// What a node says when its engine's servers acknowledge before fsync (on `/readyz` and
/// the dashboard's front page).
pub(crate) fn lazy_fsync_warning(servers: &str) -> String {
    format!(
        "warning: the engine's servers {servers} acknowledge before fsync (accepted with `cltd cluster init --allow-lazy-fsync`): an acknowledged decision can be lost if those machines lose power"
    )
}

/// Readiness: at least one trust is open (a cluster node may start with none), no trust has
/// stopped writing after a storage error (restart the server to reopen and repair its
/// store), and a cluster node is connected to its engine; a cluster node also lists each
/// trust's replication lag, and warns when its engine's servers acknowledge before fsync.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = String, content_type = "text/plain"),
              (status = 503, description = "No trust loaded, or a trust's writes are stopped", body = String, content_type = "text/plain")))]
pub async fn readyz(State(hub): State<Shared>) -> Response {
    let stopped: Vec<String> = hub
        .ids()
        .into_iter()
        .filter_map(|id| {
            read(&hub, &id, |t| {
                Ok(t.writes_stopped()
                    .map(|why| format!("{id}: writes stopped: {why}")))
            })
            .unwrap_or_else(|e| Some(format!("{id}: {}", e.message())))
        })
        .collect();
    // A cluster node also reports its engine connection and, per trust, the entries the
    // engine holds that it has not applied yet. Disconnected, it takes no writes (reads go
    // on), so it is not ready; lag alone is reported, not refused.
    let mut cluster = Vec::new();
    let mut disconnected = false;
    if let Some(node) = hub.cluster().cloned() {
        let hub = hub.clone();
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines = vec![format!(
                "node {}: engine {}",
                node.id(),
                if node.connected() {
                    "connected"
                } else {
                    "disconnected"
                }
            )];
            if let Some(servers) = node.lazy_fsync() {
                lines.push(lazy_fsync_warning(&servers));
            }
            for id in hub.ids() {
                lines.push(match node.lag(&hub, &id) {
                    Ok(lag) => format!("{id}: replication lag {lag} entries"),
                    Err(e) => format!("{id}: replication lag unknown ({e:#})"),
                });
            }
            (lines, !node.connected())
        })
        .await;
        if let Ok((lines, down)) = lines {
            cluster = lines;
            disconnected = down;
        }
    }
    let (status, mut text) = if hub.is_empty() && hub.cluster().is_none() {
        (503, "no trusts loaded\n".to_string())
    } else if !stopped.is_empty() {
        (503, format!("{}\n", stopped.join("\n")))
    } else if disconnected {
        (
            503,
            "the replication engine is unreachable: writes are refused, reads go on\n".to_string(),
        )
    } else {
        (200, format!("ok: {} trust(s)\n", hub.len()))
    };
    for line in cluster {
        text.push_str(&line);
        text.push('\n');
    }
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text))
        .expect("a static response")
}

/// The trusts this server hosts.
#[utoipa::path(get, path = "/v1/trusts", tag = "trusts",
    responses((status = 200, description = "Every hosted trust: id, name, log size, module in force", body = TrustListDoc)))]
pub async fn trusts(State(hub): State<Shared>) -> Result<axum::Json<TrustListDoc>, ApiError> {
    let mut trusts = Vec::new();
    for id in hub.ids() {
        trusts.push(read(&hub, &id, |t| {
            let s = t.state();
            Ok(TrustSummaryDoc {
                id: id.clone(),
                name: s.name.clone(),
                log_size: s.size,
                module: hex::encode(s.module),
            })
        })?);
    }
    Ok(axum::Json(TrustListDoc { trusts }))
}

/// One trust at a glance: its log's size and head, module, charter and entrenched clauses,
/// and how many members (per class), assets, proposals and grants it has; each list is read
/// from its own endpoint.
#[utoipa::path(get, path = "/v1/trusts/{id}", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "The trust at a glance", body = TrustDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn trust(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<axum::Json<TrustDoc>, ApiError> {
    read(&hub, &id, |t| Ok(axum::Json(TrustDoc::of(t.state()))))
}

/// Which members to list, a page at a time.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Only the members of this stakeholder class.
    #[param(pattern = "^(resident|community|public|worker|user|data-ethics-council)$")]
    class: Option<String>,
    /// List the members whose keys sort after this one (hex; the previous page's `next`);
    /// from the first when absent.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    after: Option<String>,
    /// Most members to return (default and at most 1000; 0 counts as 1).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    limit: Option<usize>,
}

/// Members, a page at a time in key order, grouped by stakeholder class, with each class's
/// count in the whole trust; `next` is the key to ask `?after=` for next.
#[utoipa::path(get, path = "/v1/trusts/{id}/members", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)"), MembersQuery),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "`{\"members\": {\"resident\": [...], ...}, \"counts\": {\"resident\": N, ...}, \"next\": KEY|null}`", body = MembersDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn members(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<MembersQuery>,
) -> Result<axum::Json<MembersDoc>, ApiError> {
    bounded("limit", q.limit.unwrap_or(0) as u64)?;
    let limit = q
        .limit
        .unwrap_or(MEMBERS_PAGE_MAX)
        .clamp(1, MEMBERS_PAGE_MAX);
    let class = q.class.as_deref().map(parse_class_param).transpose()?;
    let after = q
        .after
        .as_deref()
        .map(parse_hash_param::<cltd_runtime::MemberKey>)
        .transpose()?;
    read(&hub, &id, |t| {
        let s = t.state();
        let (page, next) = member_page(s, class, after.as_ref(), limit);
        let mut members: std::collections::BTreeMap<String, Vec<MemberDoc>> = render::CLASSES
            .iter()
            .map(|c| (c.name().to_string(), Vec::new()))
            .collect();
        for m in page {
            if let Some(list) = members.get_mut(m.class.name()) {
                list.push(MemberDoc::of(m));
            }
        }
        Ok(axum::Json(MembersDoc {
            members,
            counts: class_counts(s),
            next,
        }))
    })
}

/// Assets and their lock status.
#[utoipa::path(get, path = "/v1/trusts/{id}/assets", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "`{\"assets\": [{id, kind, lock, description}]}`", body = AssetsDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn assets(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<axum::Json<AssetsDoc>, ApiError> {
    read(&hub, &id, |t| {
        let assets = t.state().assets.values().map(|a| AssetDoc::of(a)).collect();
        Ok(axum::Json(AssetsDoc { assets }))
    })
}

/// Which proposals to list, a page at a time.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    /// List the proposals numbered from this one (the previous page's `next`); from the
    /// first when absent.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    from: Option<u64>,
    /// Most proposals to return (default and at most 100; 0 counts as 1).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    limit: Option<usize>,
}

/// Proposals, oldest first, a page at a time, each with its live tally and its first
/// ballots; `next` is the number to ask `?from=` for next.
#[utoipa::path(get, path = "/v1/trusts/{id}/proposals", tag = "proposals",
    params(("id" = String, Path, description = "The trust id (hex)"), ProposalsQuery),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "`{\"proposals\": [...], \"next\": N|null}`", body = ProposalsDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn proposals(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ProposalsQuery>,
) -> Result<axum::Json<ProposalsDoc>, ApiError> {
    let from = bounded("from", q.from.unwrap_or(0))?;
    bounded("limit", q.limit.unwrap_or(0) as u64)?;
    let limit = q
        .limit
        .unwrap_or(PROPOSALS_PAGE_MAX)
        .clamp(1, PROPOSALS_PAGE_MAX);
    read(&hub, &id, |t| {
        let s = t.state();
        let mut page: Vec<_> = s.proposals.range(from..).take(limit + 1).collect();
        let next = (page.len() > limit).then(|| {
            let (number, _) = page.pop().expect("more than `limit` proposals");
            *number
        });
        let proposals = page
            .into_iter()
            .map(|(_, p)| ProposalDoc::of(s, p))
            .collect();
        Ok(axum::Json(ProposalsDoc { proposals, next }))
    })
}

/// Which grants to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantQuery {
    /// A member's key (hex): only the grants touching that member's data (see
    /// [`render::grant_touches`]).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    touching: Option<String>,
}

/// Access grants (who may use which data, which fields, for what purpose, until when);
/// `?touching=KEY` lists those touching one member's data.
#[utoipa::path(get, path = "/v1/trusts/{id}/grants", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)"), GrantQuery),
    responses((status = 200, description = "`{\"grants\": [...]}`", body = GrantsDoc),
              (status = 400, description = "`touching` is not a 64-digit hex key", body = ErrorBody),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn grants(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<GrantQuery>,
) -> Result<axum::Json<GrantsDoc>, ApiError> {
    let touching = q
        .touching
        .as_deref()
        .map(parse_hash_param::<cltd_runtime::MemberKey>)
        .transpose()?;
    read(&hub, &id, |t| {
        let s = t.state();
        let grants = s
            .grants
            .values()
            .filter(|g| {
                touching
                    .as_ref()
                    .is_none_or(|k| render::grant_touches(s, g, k.as_slice()))
            })
            .map(|g| GrantDoc::of(s, g, t.now()))
            .collect();
        Ok(axum::Json(GrantsDoc { grants }))
    })
}

/// One proposal: live tally by class, ballots, decision and, while open, `if_closed_now`:
/// the bylaw's dry-run verdict ("would pass" / "would fail: quorum not met").
#[utoipa::path(get, path = "/v1/trusts/{id}/proposals/{number}", tag = "proposals",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("number" = u64, Path, description = "The proposal number", minimum = 0, maximum = 9223372036854775807_i64)),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "The proposal", body = ProposalDoc),
              (status = 404, description = "No such trust or proposal", body = ErrorBody)))]
pub async fn proposal(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
) -> Result<axum::Json<ProposalDoc>, ApiError> {
    bounded("number", number)?;
    read(&hub, &id, |t| {
        let s = t.state();
        let p = s
            .proposals
            .get(&number)
            .ok_or_else(|| ApiError::not_found(format!("there is no proposal {number}")))?;
        let mut doc = ProposalDoc::of(s, p);
        doc.if_closed_now = t.dry_run_close(number).map(|dry| match dry {
            Ok(verdict) => DryRunDoc::Verdict(VerdictDoc::of(&verdict)),
            Err(e) => DryRunDoc::Failed {
                error: e.to_string(),
            },
        });
        Ok(axum::Json(doc))
    })
}

/// Which page of a proposal's ballots.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VotesQuery {
    /// List the ballots of voters whose keys sort after this one (hex; the previous page's
    /// `next`); from the first when absent.
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    after: Option<String>,
    /// Most ballots to return (default and at most 1000; 0 counts as 1).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    limit: Option<usize>,
}

/// The ballots cast on a proposal, a page at a time in key order: voter key, name, class
/// and choice; `next` is the key to ask `?after=` for next.
#[utoipa::path(get, path = "/v1/trusts/{id}/proposals/{number}/votes", tag = "proposals",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("number" = u64, Path, description = "The proposal number", minimum = 0, maximum = 9223372036854775807_i64),
           VotesQuery),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "`{\"votes\": [{voter, name, class, choice}], \"next\": KEY|null}`", body = VotesDoc),
              (status = 404, description = "No such trust or proposal", body = ErrorBody)))]
pub async fn votes(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
    Query(q): Query<VotesQuery>,
) -> Result<axum::Json<VotesDoc>, ApiError> {
    bounded("number", number)?;
    bounded("limit", q.limit.unwrap_or(0) as u64)?;
    let limit = q.limit.unwrap_or(VOTES_PAGE_MAX).clamp(1, VOTES_PAGE_MAX);
    let after = q
        .after
        .as_deref()
        .map(parse_hash_param::<cltd_runtime::MemberKey>)
        .transpose()?;
    read(&hub, &id, |t| {
        let s = t.state();
        if !s.proposals.contains_key(&number) {
            return Err(ApiError::not_found(format!(
                "there is no proposal {number}"
            )));
        }
        let (page, next) = ballot_page(s, number, after.as_ref(), limit);
        let votes = page
            .into_iter()
            .map(|(v, choice)| VoteDoc {
                voter: hex::encode(v.key),
                name: render::who(s, v.key),
                class: Some(v.class.name().to_string()),
                choice: choice.name().to_string(),
            })
            .collect();
        Ok(axum::Json(VotesDoc {
            proposal: number,
            votes,
            next,
        }))
    })
}

/// A page of the log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// First entry index (default 0).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    from: Option<u64>,
    /// Most entries to return (default 100, at most 1000).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    limit: Option<usize>,
}

/// Log entries, oldest first, a page at a time; `next` is the index to ask for next.
#[utoipa::path(get, path = "/v1/trusts/{id}/log", tag = "log",
    params(("id" = String, Path, description = "The trust id (hex)"), Page),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "`{\"entries\": [...], \"next\": N|null, \"size\": N}`", body = LogPageDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn log(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(page): Query<Page>,
) -> Result<axum::Json<LogPageDoc>, ApiError> {
    read(&hub, &id, |t| {
        let from = bounded("from", page.from.unwrap_or(0))?;
        bounded("limit", page.limit.unwrap_or(0) as u64)?;
        let limit = page.limit.unwrap_or(100).min(MAX_PAGE);
        let entries = t.entries(from, limit)?;
        let entries: Vec<EntryDoc> = entries.iter().map(|e| EntryDoc::of(t.state(), e)).collect();
        let end = from + entries.len() as u64;
        let next = (end < t.state().size).then_some(end);
        Ok(axum::Json(LogPageDoc {
            entries,
            next,
            size: t.state().size,
        }))
    })
}

/// The latest checkpoint: a C2SP signed note (origin, size, base64 root, host signature,
/// and any witness cosignatures).
#[utoipa::path(get, path = "/v1/trusts/{id}/checkpoint", tag = "log",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "The signed note", body = String, content_type = "text/plain"),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn checkpoint(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<String, ApiError> {
    read(&hub, &id, |t| Ok(t.latest_checkpoint()?.to_string()))
}

/// Which proof: exactly one of the two.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// Entry index for an inclusion proof.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    index: Option<u64>,
    /// Older tree size for a consistency proof.
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    old: Option<u64>,
}

/// An inclusion (`?index=I`) or consistency (`?old=M`) proof against the current checkpoint;
/// hashes are base64 SHA-256, as in the C2SP formats (RFC 6962 tree).
#[utoipa::path(get, path = "/v1/trusts/{id}/proof", tag = "log",
    params(("id" = String, Path, description = "The trust id (hex)"), ProofQuery),
    responses((status = 200, description = "`{proof, size, root, hashes}`", body = ProofDoc),
              (status = 400, description = "Neither or both of index and old", body = ErrorBody),
              (status = 422, description = "Index or size out of range", body = ErrorBody)))]
pub async fn proof(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<ProofQuery>,
) -> Result<axum::Json<ProofDoc>, ApiError> {
    use base64::Engine;
    let b64 = |h: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
    for (name, v) in [("index", q.index), ("old", q.old)] {
        bounded(name, v.unwrap_or(0))?;
    }
    if q.index.is_some() == q.old.is_some() {
        return Err(ApiError::bad_query(
            "give exactly one of ?index= (inclusion) or ?old= (consistency)",
        ));
    }
    read(&hub, &id, |t| {
        let p = match (q.index, q.old) {
            (Some(index), _) => t.inclusion_proof(index)?,
            (None, Some(old)) => t.consistency_proof(old)?,
            (None, None) => unreachable!("checked above: exactly one of index and old"),
        };
        Ok(axum::Json(ProofDoc {
            proof: if q.index.is_some() {
                "inclusion"
            } else {
                "consistency"
            }
            .to_string(),
            size: p.size,
            root: b64(&p.root),
            hashes: p.hashes.iter().map(b64).collect(),
        }))
    })
}

/// The bylaw modules: which was in force when (genesis, then each executed amendment with
/// its vote), and every stored component (candidates included).
pub fn modules_doc(t: &Snapshot) -> Result<ModulesDoc, ApiError> {
    let s = t.state();
    let history = t
        .module_history()?
        .into_iter()
        .map(|m| InForceDoc {
            module: hex::encode(m.module),
            since: m.since,
            by: m.by.map_or_else(
                || "genesis".to_string(),
                |p| format!("proposal {}", p.proposal.id),
            ),
            proposal: m.by.map(|p| ProposalDoc::of(s, p)),
        })
        .collect();
    let stored = t
        .stored_modules()?
        .into_iter()
        .map(|(hash, size)| {
            let hex = hex::encode(hash);
            let proposals: Vec<u64> = s
                .proposals
                .values()
                .filter(
                    |p| matches!(&p.proposal.body, ProposalBody::AmendBylaws(a) if a.module == hex),
                )
                .map(|p| p.proposal.id)
                .collect();
            StoredModuleDoc {
                module: hex,
                size,
                in_force: hash == s.module,
                proposals,
            }
        })
        .collect();
    Ok(ModulesDoc {
        in_force: hex::encode(s.module),
        history,
        stored,
    })
}

/// Bylaw module history and every stored component.
#[utoipa::path(get, path = "/v1/trusts/{id}/modules", tag = "bylaws",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "`{in_force, history: [...], stored: [...]}`", body = ModulesDoc),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn modules(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<axum::Json<ModulesDoc>, ApiError> {
    read(&hub, &id, |t| Ok(axum::Json(modules_doc(t)?)))
}

fn stored(t: &Snapshot, hash: &ModuleHash) -> Result<Vec<u8>, ApiError> {
    t.module_bytes(hash)?
        .ok_or_else(|| ApiError::not_found(format!("no module {} is stored", hex::encode(hash))))
}

/// One stored module: its name, version and parameter summary (as it describes itself under
/// the charter in force), size and whether it is in force.
#[utoipa::path(get, path = "/v1/trusts/{id}/modules/{hash}", tag = "bylaws",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("hash" = String, Path, description = "The component's blake3 hash (hex)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "`{module, size, in_force, name, version, summary}`", body = ModuleDoc),
              (status = 404, description = "No such trust or module", body = ErrorBody)))]
pub async fn module(
    State(hub): State<Shared>,
    UrlPath((id, hash)): UrlPath<(String, String)>,
) -> Result<axum::Json<ModuleDoc>, ApiError> {
    let hash: ModuleHash = parse_hash_param(&hash)?;
    let hub = hub.clone();
    tokio::task::spawn_blocking(move || {
        read(&hub, &id, |t| {
            let size = stored(t, &hash)?.len();
            t.load_module(&hash)?;
            let info = t
                .runtime()
                .describe(&hash, &t.state().charter)
                .map_err(cltd_runtime::Error::from)?;
            Ok(axum::Json(ModuleDoc {
                module: hex::encode(hash),
                size,
                in_force: Some(hash == t.state().module),
                new: None,
                name: info.name,
                version: info.version,
                summary: info.summary,
            }))
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

/// A stored component's bytes, exactly as hashed (`b3sum` of the download is its hash).
#[utoipa::path(get, path = "/v1/trusts/{id}/modules/{hash}/component", tag = "bylaws",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("hash" = String, Path, description = "The component's blake3 hash (hex)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "The component", body = Binary, content_type = "application/wasm"),
              (status = 404, description = "No such trust or module", body = ErrorBody)))]
pub async fn component(
    State(hub): State<Shared>,
    UrlPath((id, hash)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let hash = parse_hash_param(&hash)?;
    let bytes = read(&hub, &id, |t| stored(t, &hash))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/wasm")
        .body(Body::from(bytes))
        .expect("a valid response"))
}

/// The trust's audit bundle: every entry, every module its replay needs, the checkpoint
/// (with the witnesses' cosignatures gathered for it) and the trust's keys, as `cltd export`
/// writes it, for `cltd audit verify` or `cltd explain` anywhere. Made on the snapshot of
/// the last commit, on the preview pool (it reads the whole log), so at most as many are
/// made at once as previews.
#[utoipa::path(get, path = "/v1/trusts/{id}/bundle", tag = "log",
    params(("id" = String, Path, description = "The trust id (hex)")),
    responses((status = 200, description = "The audit bundle", body = Binary, content_type = "application/octet-stream"),
              (status = 404, description = "No such trust", body = ErrorBody),
              (status = 503, description = "`busy`: every worker is busy and the queue is full (Retry-After)", body = ErrorBody)))]
pub async fn bundle(
    State(hub): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, crate::server::hub::PoolError> {
    let snap = crate::server::hub::snapshot(&hub, &id)?;
    let bytes = hub
        .previews()
        .run(move |_| Ok(snap.export()?.to_bytes()))
        .await?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .expect("a valid response"))
}

/// The stored impact preview of an amendment proposal: every past decision the candidate
/// would have made differently and its conformance to the entrenched clauses.
#[utoipa::path(get, path = "/v1/trusts/{id}/proposals/{number}/preview", tag = "bylaws",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("number" = u64, Path, description = "An amend-bylaws proposal", minimum = 0, maximum = 9223372036854775807_i64)),
    responses((status = 400, description = "`bad-query`: a path or query parameter does not parse", body = ErrorBody),
              (status = 200, description = "The impact preview", body = PreviewDoc),
              (status = 404, description = "No such trust, proposal or preview, or not an amendment", body = ErrorBody)))]
pub async fn proposal_preview(
    State(hub): State<Shared>,
    UrlPath((id, number)): UrlPath<(String, u64)>,
) -> Result<axum::Json<PreviewDoc>, ApiError> {
    bounded("number", number)?;
    read(&hub, &id, |t| {
        let s = t.state();
        let p = s
            .proposals
            .get(&number)
            .ok_or_else(|| ApiError::not_found(format!("there is no proposal {number}")))?;
        let ProposalBody::AmendBylaws(a) = &p.proposal.body else {
            return Err(ApiError::not_found(format!(
                "proposal {number} is {}, not an amendment",
                p.proposal.body.kind()
            )));
        };
        let module: ModuleHash = parse_hash_param(&a.module)?;
        let report = t
            .stored_preview(&module, &a.charter)?
            .ok_or_else(|| ApiError::not_found("no impact preview is stored for this amendment"))?;
        Ok(axum::Json(PreviewDoc::of(s, &report)))
    })
}

/// A signer as the trust knows it: member or not, name and class, and the sequence number
/// their next transition must carry (so a client that holds only a key can sign).
#[utoipa::path(get, path = "/v1/trusts/{id}/signers/{key}", tag = "trusts",
    params(("id" = String, Path, description = "The trust id (hex)"),
           ("key" = String, Path, description = "An Ed25519 public key (hex)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, description = "`{key, member, name, class, next_seq}`", body = SignerDoc),
              (status = 400, description = "`bad-query`: not a 32-byte hex key", body = ErrorBody),
              (status = 404, description = "No such trust", body = ErrorBody)))]
pub async fn signer(
    State(hub): State<Shared>,
    UrlPath((id, key)): UrlPath<(String, String)>,
) -> Result<axum::Json<SignerDoc>, ApiError> {
    let key: cltd_runtime::MemberKey = key
        .parse()
        .map_err(|_| ApiError::bad_query("a key is 64 hex digits"))?;
    // On a cluster node, apply what the writer appended first, so that a member who acted
    // through another node is told the sequence number after it (a stale one would only be
    // refused, but the member would have to sign again). If the engine is out of reach,
    // the answer is this node's latest.
    if hub.cluster().is_some() {
        let _ = tokio::task::block_in_place(|| crate::server::hub::catch_up(&hub, &id));
    }
    read(&hub, &id, |t| {
        let s = t.state();
        let m = s.members.get(&key);
        Ok(axum::Json(SignerDoc {
            key: hex::encode(key),
            member: m.is_some(),
            name: m.map(|m| m.name.clone()),
            class: m.map(|m| m.class.name().to_string()),
            next_seq: s.next_seq(&key),
        }))
    })
}
