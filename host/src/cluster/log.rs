//! The runtime's [`Replicator`] on JetStream: each trust's log is subject
//! `cltd.log.<trust>` of one stream, appended with compare-and-append
//! (`Nats-Expected-Last-Subject-Sequence`) and deduplicated by the last entry's hash
//! (`Nats-Msg-Id`).
//!
//! How the engine's answers map to the runtime's ([`ReplicaError`]):
//! - an acknowledgement (or a duplicate's, which names the first append's sequence): stored
//!   on a quorum (with `sync_interval: always`, fsynced there);
//! - error 10071 or 10164, wrong last sequence: [`ReplicaError::Conflict`], nothing
//!   stored;
//! - no responders (no stream leader) or a request that was never sent:
//!   [`ReplicaError::Unavailable`], nothing stored;
//! - a timeout or a dropped connection after the request went out:
//!   [`ReplicaError::Ambiguous`], which the runtime resolves by reading back.
//!
//! Reads go to the stream leader (the "raw" message API, never a direct get that a lagging
//! replica may answer), so a read after an acknowledged append sees it.

use std::sync::Arc;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use cltd_runtime::{EntryHash, ReplicaError, Replicator, TrustId};

use super::engine::{Engine, EngineError, LOG_STREAM, log_subject};

/// Trusts' logs in the engine's log stream.
pub struct JetStreamLog {
    engine: Arc<Engine>,
    stream: Stream,
}

impl JetStreamLog {
    /// The log stream of `engine` (which `cltd cluster init` created).
    pub fn open(engine: Arc<Engine>) -> Result<JetStreamLog, EngineError> {
        let js = engine.js().clone();
        let stream = engine
            .block(async move { js.get_stream(LOG_STREAM).await })
            .map_err(|e| {
                EngineError::js("open the log stream (has `cltd cluster init` been run?)", e)
            })?;
        Ok(JetStreamLog { engine, stream })
    }

    /// Every trust (hex) that has a log in the stream.
    pub fn trusts(&self) -> Result<Vec<String>, ReplicaError> {
        let stream = self.stream.clone();
        self.engine.block(async move {
            let mut info = stream
                .info_with_subjects(log_subject("*"))
                .await
                .map_err(|e| ReplicaError::Unavailable(e.to_string()))?;
            let mut trusts = Vec::new();
            use futures_util::TryStreamExt;
            while let Some((subject, _)) = info
                .try_next()
                .await
                .map_err(|e| ReplicaError::Unavailable(e.to_string()))?
            {
                if let Some(hex) = subject.strip_prefix("cltd.log.") {
                    trusts.push(hex.to_string());
                }
            }
            trusts.sort();
            Ok(trusts)
        })
    }

    /// The first message of `trust`'s subject at or after stream sequence `from`.
    async fn first_from(
        stream: &Stream,
        subject: &str,
        from: u64,
    ) -> Result<Option<(u64, Vec<u8>)>, ReplicaError> {
        match stream.get_first_raw_message_by_subject(subject, from).await {
            Ok(m) => Ok(Some((m.sequence, m.payload.to_vec()))),
            Err(e) if no_message(&e) => Ok(None),
            Err(e) => Err(ReplicaError::Unavailable(e.to_string())),
        }
    }
}

/// Whether a read failed only because there is no such message.
fn no_message(e: &async_nats::jetstream::stream::LastRawMessageError) -> bool {
    match e.kind() {
        LastRawMessageErrorKind::NoMessageFound => true,
        LastRawMessageErrorKind::JetStream(j) => {
            j.error_code() == async_nats::jetstream::ErrorCode::NO_MESSAGE_FOUND
        }
        _ => false,
    }
}

/// The last sequence a wrong-last-sequence error names (`wrong last sequence: N`), if any.
fn found_sequence(message: &str) -> u64 {
    let Some(at) = message.rfind("sequence: ") else {
        return 0;
    };
    let digits: String = message[at + "sequence: ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

impl Replicator for JetStreamLog {
    fn append(
        &self,
        trust: &TrustId,
        expected: u64,
        id: &EntryHash,
        envelope: &[u8],
    ) -> Result<u64, ReplicaError> {
        let js = self.engine.js().clone();
        let subject = log_subject(&hex::encode(trust));
        let message = PublishMessage::build()
            .payload(envelope.to_vec().into())
            .message_id(hex::encode(id))
            .expected_last_subject_sequence(expected);
        let started = std::time::Instant::now();
        let outcome = self.engine.block(async move {
            let sent = js.send_publish(subject, message).await;
            let ack = match sent {
                Ok(future) => future.await,
                Err(e) => Err(e),
            };
            match ack {
                Ok(ack) => Ok(ack.sequence),
                Err(e) => Err(match e.kind() {
                    // The server also refuses with 10164, the same refusal without the
                    // sequence (seen when a new stream leader checks the append).
                    PublishErrorKind::WrongLastSequence => ReplicaError::Conflict {
                        expected,
                        found: found_sequence(&e.to_string()),
                    },
                    _ if e.to_string().contains("error code 10164") => ReplicaError::Conflict {
                        expected,
                        found: found_sequence(&e.to_string()),
                    },
                    PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
                        ReplicaError::Ambiguous(e.to_string())
                    }
                    _ => ReplicaError::Unavailable(e.to_string()),
                }),
            }
        });
        let label = match &outcome {
            Ok(_) => "ok",
            Err(ReplicaError::Conflict { .. }) => "conflict",
            Err(ReplicaError::Ambiguous(_)) => "ambiguous",
            Err(_) => "unavailable",
        };
        crate::server::metrics::appended(label, started.elapsed().as_secs_f64());
        outcome
    }

    fn last(&self, trust: &TrustId) -> Result<Option<(u64, Vec<u8>)>, ReplicaError> {
        let stream = self.stream.clone();
        let subject = log_subject(&hex::encode(trust));
        self.engine.block(async move {
            match stream.get_last_raw_message_by_subject(&subject).await {
                Ok(m) => Ok(Some((m.sequence, m.payload.to_vec()))),
                Err(e) if no_message(&e) => Ok(None),
                Err(e) => Err(ReplicaError::Unavailable(e.to_string())),
            }
        })
    }

    fn read_after(
        &self,
        trust: &TrustId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ReplicaError> {
        let stream = self.stream.clone();
        let subject = log_subject(&hex::encode(trust));
        self.engine.block(async move {
            let mut out = Vec::new();
            let mut from = after + 1;
            while out.len() < limit {
                match JetStreamLog::first_from(&stream, &subject, from).await? {
                    Some((seq, bytes)) => {
                        from = seq + 1;
                        out.push((seq, bytes));
                    }
                    None => break,
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::found_sequence;

    #[test]
    fn the_sequence_a_conflict_names_is_read_from_its_message() {
        assert_eq!(
            found_sequence("wrong last sequence: 42 (code 400, error code 10071)"),
            42
        );
        assert_eq!(found_sequence("publish failed"), 0);
    }
}
