//! `cltd witness`: run a witness for other trusts (the C2SP `tlog-witness` HTTP endpoint
//! `POST /add-checkpoint`), and ask a witness to cosign this trust's checkpoint.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cltd_runtime::{
    Checkpoint, SignedNote, Trust, Witness, WitnessError, add_checkpoint_request,
    consistency_proof, origin,
};

/// Largest request body a witness reads (a checkpoint note and a proof of at most 64 hashes
/// fit in a few KiB).
const MAX_REQUEST: usize = 64 * 1024;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: String) -> Response {
    let answer = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now())).await;
    match answer {
        Ok(Ok(cosignature)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/x.tlog.signature")],
            cosignature,
        )
            .into_response(),
        Ok(Err(WitnessError::Conflict { size })) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("{e}\n"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(witness)
}

/// Serve `witness` on `listener` until the process ends.
pub fn serve(witness: Witness, listener: TcpListener) -> Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("start the witness's runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, router(Arc::new(witness))).await
    })
    .context("the witness server stopped")
}

/// Ask the witness at `url` (its base URL) to cosign `trust`'s current checkpoint, proving
/// consistency from whatever size it last cosigned; store the cosigned checkpoint. Returns
/// the cosigned note.
pub fn ask(trust: &Trust, url: &str) -> Result<SignedNote> {
    let note = trust.latest_checkpoint()?;
    let name = origin(&trust.id());
    let host_only = SignedNote {
        text: note.text.clone(),
        signatures: note
            .signatures
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect(),
    };
    let size = Checkpoint::parse(&note.text)?.size;
    let leaves = trust.leaves()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    // Start from the empty tree; a witness that has seen this log answers 409 with its size.
    let mut old = 0u64;
    for _ in 0..3 {
        if old > size {
            bail!(
                "the witness has cosigned {old} entries of this log, more than its {size}: the log was cut or forked"
            );
        }
        let proof = consistency_proof(&leaves, old as usize)?;
        let body = add_checkpoint_request(old, &proof, &host_only);
        let mut response = agent
            .post(&endpoint)
            .header("content-type", "text/plain; charset=utf-8")
            .send(body.as_str())
            .with_context(|| format!("reach the witness at {endpoint}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .context("read the witness's answer")?;
        match status {
            200 => {
                let cosigned = SignedNote::parse(&format!("{}\n{text}", note.text))
                    .context("the witness's answer is not a signature line")?;
                let mut merged = note.clone();
                merged.signatures.extend(cosigned.signatures);
                trust.store_checkpoint(&merged)?;
                return Ok(merged);
            }
            409 => {
                old = text
                    .trim()
                    .parse()
                    .with_context(|| format!("the witness answered 409 with `{}`", text.trim()))?;
            }
            _ => bail!("the witness refused ({status}): {}", text.trim()),
        }
    }
    bail!("the witness kept changing its size; try again")
}
