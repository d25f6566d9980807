//! `cltd --server URL`: a member acting from their own machine on a trust that a `cltd
//! serve` hosts. The member's key never leaves the machine: the client learns the trust id
//! and the signer's next sequence number from the server, signs the transition locally,
//! posts it, and prints the receipt the server answers (the same receipt, in the same form,
//! with the same exit codes, as the command run on the trust's own store).

use anyhow::{Context, Result, bail};
use cltd_runtime::{MemberKey, Parameter, TrustId};
use serde_json::Value;

/// An error the server answered: its HTTP status and the API's stable code and message.
#[derive(Debug, thiserror::Error)]
#[error("{message} (the server answered {status} `{code}`)")]
pub struct ServerError {
    /// HTTP status.
    pub status: u16,
    /// The API's stable code (`bad-sequence`, `not-a-member`, ...).
    pub code: String,
    /// The server's message.
    pub message: String,
}

/// The API's error answer (`{"error": {"code", "message"}}`, else its text) as a
/// [`ServerError`].
fn server_error(status: u16, text: &str) -> anyhow::Error {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let field = |k: &str| body["error"][k].as_str().map(str::to_string);
    ServerError {
        status,
        code: field("code").unwrap_or_else(|| "error".into()),
        message: field("message").unwrap_or_else(|| text.trim().to_string()),
    }
    .into()
}

/// A `cltd serve` and, when it hosts more than one, which of its trusts.
pub(crate) struct Remote {
    base: String,
    trust: Option<String>,
    agent: ureq::Agent,
}

impl Remote {
    /// The server at `base` (`http://host:port`, with or without a trailing slash), on
    /// trust `trust` (hex), or on the only trust it hosts.
    pub(crate) fn new(base: &str, trust: Option<String>) -> Remote {
        Remote {
            base: base.trim_end_matches('/').to_string(),
            trust,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(130)))
                .build()
                .into(),
        }
    }

    /// Read an answer: its JSON on 2xx, else the API's error as a [`ServerError`].
    fn answer(
        &self,
        what: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String> {
        let mut r = r.with_context(|| format!("reach {} for {what}", self.base))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .read_to_string()
            .with_context(|| format!("read the server's answer to {what}"))?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(server_error(status, &text))
    }

    /// GET `path` as text.
    pub(crate) fn get_text(&self, path: &str) -> Result<String> {
        let r = self.agent.get(&format!("{}{path}", self.base)).call();
        self.answer(path, r)
    }

    /// GET `path` as bytes.
    pub(crate) fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .with_context(|| format!("reach {} for {path}", self.base))?;
        if r.status().is_success() {
            return r
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .read_to_vec()
                .with_context(|| format!("read {path}"));
        }
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        Err(server_error(status, &text))
    }

    /// GET `path` as JSON.
    pub(crate) fn get(&self, path: &str) -> Result<Value> {
        let text = self.get_text(path)?;
        serde_json::from_str(&text).with_context(|| format!("{path} did not answer JSON"))
    }

    /// POST `body` (`content_type`) to `path`; the JSON answer.
    pub(crate) fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Result<Value> {
        self.post_signed(path, content_type, body, None)
    }

    /// [`Remote::post`] with a member's approval in the `cltd-signer` and `cltd-signature`
    /// headers (an upload's, or a preview's to store it).
    pub(crate) fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        approval: Option<&cltd_runtime::UploadSignature>,
    ) -> Result<Value> {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", content_type);
        if let Some(a) = approval {
            request = request
                .header("cltd-signer", a.signer.to_hex())
                .header("cltd-signature", hex::encode(&a.signature));
        }
        let r = request.send(body);
        let text = self.answer(path, r)?;
        serde_json::from_str(&text).with_context(|| format!("{path} did not answer JSON"))
    }

    /// The trust acted on: `--trust`, else the server's only trust.
    pub(crate) fn trust_id(&self) -> Result<TrustId> {
        if let Some(id) = &self.trust {
            return id
                .parse()
                .with_context(|| format!("--trust `{id}` is not a trust id (64 hex digits)"));
        }
        let listed = self.get("/v1/trusts")?;
        let trusts = listed["trusts"].as_array().cloned().unwrap_or_default();
        match trusts.as_slice() {
            [one] => one["id"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .context("the server listed a trust id that is not 64 hex digits"),
            [] => bail!("{} hosts no trust", self.base),
            many => bail!(
                "{} hosts {} trusts: say which with --trust ID ({})",
                self.base,
                many.len(),
                many.iter()
                    .map(|t| format!(
                        "{} {}",
                        t["id"].as_str().unwrap_or_default(),
                        t["name"].as_str().unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The sequence number `key`'s next transition on `trust` must carry.
    pub(crate) fn next_seq(&self, trust: &TrustId, key: &MemberKey) -> Result<u64> {
        let signer = self.get(&format!("/v1/trusts/{trust}/signers/{key}"))?;
        signer["next_seq"]
            .as_u64()
            .context("the server's signer record has no next_seq")
    }

    /// The charter in force on `trust`.
    pub(crate) fn charter(&self, trust: &TrustId) -> Result<Vec<Parameter>> {
        let state = self.get(&format!("/v1/trusts/{trust}"))?;
        state["charter"]
            .as_array()
            .context("the server's trust state has no charter")?
            .iter()
            .map(|p| {
                Ok(Parameter {
                    key: p["key"].as_str().context("a charter key")?.to_string(),
                    value: p["value"].as_str().context("a charter value")?.to_string(),
                })
            })
            .collect()
    }
}
