//! Writes posted to a node that does not write their trust: sent to the writer over NATS
//! request/reply, answered with the writer's receipt; and the loop that answers requests.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{HEARTBEAT_EVERY, Node};
use crate::server::Hub;

/// How long a forwarded transition waits for the writer's answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(20);

/// What the writer answers a forwarded transition: the receipt, or the API's error.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forwarded {
    /// The HTTP status the writer would have answered.
    pub status: u16,
    /// The receipt (on 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<crate::wire::ReceiptDoc>,
    /// The API's stable error code (otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The subject node `id` takes forwarded transitions on.
pub fn submit_subject(id: &str) -> String {
    format!("cltd.submit.{id}")
}

/// The header naming the trust of a forwarded transition.
pub const TRUST_HEADER: &str = "Cltd-Trust";

impl Node {
    /// Answer every request on `subject` with `answer(trust, payload)` (the trust its
    /// header names), each in a task of its own; `what` names the work in the log while the
    /// subscription cannot be made yet.
    pub(super) async fn respond<F, Fut>(&self, subject: String, what: &'static str, answer: F)
    where
        F: Fn(String, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Vec<u8>> + Send + 'static,
    {
        let mut requests = loop {
            match self.engine.client().subscribe(subject.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(target: "cltd::cluster", error = %e, what, "cannot take requests yet");
                    tokio::time::sleep(HEARTBEAT_EVERY).await;
                }
            }
        };
        while let Some(request) = requests.next().await {
            let Some(reply) = request.reply.clone() else {
                continue;
            };
            let trust = request
                .headers
                .as_ref()
                .and_then(|h| h.get(TRUST_HEADER))
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            let answered = answer(trust, request.payload.to_vec());
            let client = self.engine.client().clone();
            tokio::spawn(async move {
                let bytes = answered.await;
                if let Err(e) = client.publish(reply, bytes.into()).await {
                    tracing::warn!(target: "cltd::cluster", error = %e, what, "an answer was not sent");
                }
            });
        }
    }

    pub(super) async fn answer_forwarded(self: Arc<Self>, hub: Arc<Hub>) {
        self.respond(
            submit_subject(&self.id),
            "forwarded writes",
            move |trust, body| {
                let hub = hub.clone();
                async move {
                    let forwarded = match crate::server::api::writes::commit(hub, trust, body).await
                    {
                        Ok(receipt) => Forwarded {
                            status: 200,
                            receipt: Some(receipt),
                            code: None,
                            message: None,
                        },
                        Err(e) => Forwarded {
                            status: e.status().as_u16(),
                            receipt: None,
                            code: Some(e.code().to_string()),
                            message: Some(e.message().to_string()),
                        },
                    };
                    serde_json::to_vec(&forwarded).expect("an answer serializes")
                }
            },
        )
        .await;
    }

    /// Send a transition for trust `trust` (hex) to node `writer` and wait for its answer;
    /// `None` if the writer did not answer (the caller then judges it itself).
    pub async fn forward(&self, writer: &str, trust: &str, body: Vec<u8>) -> Option<Forwarded> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TRUST_HEADER, trust);
        let client = self.engine.client().clone();
        let subject = submit_subject(writer);
        let request = async move {
            client
                .request_with_headers(subject, headers, body.into())
                .await
        };
        let answer = tokio::time::timeout(FORWARD_TIMEOUT, self.engine.handle().spawn(request))
            .await
            .ok()?
            .ok()?;
        let answer = match answer {
            Ok(message) => serde_json::from_slice(&message.payload).ok(),
            Err(e) => {
                tracing::warn!(target: "cltd::cluster", writer, error = %e, "forwarding failed; judging here");
                None
            }
        };
        crate::server::metrics::forwarded(if answer.is_some() {
            "answered"
        } else {
            "judged-here"
        });
        answer
    }
}
