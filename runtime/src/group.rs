//! Group commit for concurrent submitters: one committer thread owns the trust, drains every
//! transition waiting at the moment it is free, judges them in arrival order and commits
//! them in one durable redb transaction. Each submitter is answered only after the batch
//! holding its transition is durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use crate::error::{Error, Result, StoreError};
use crate::model::Hash;
use crate::transition::CheckedTransition;
use crate::trust::{Receipt, Trust};

struct Request {
    checked: CheckedTransition,
    reply: mpsc::SyncSender<Result<Receipt>>,
}

enum Msg {
    Submit(Box<Request>),
    Stop,
}

/// Counters of what the committer has done.
#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    transitions: AtomicU64,
}

/// A trust behind a committer thread, shared by any number of submitting threads.
pub struct GroupCommitter {
    tx: Option<mpsc::Sender<Msg>>,
    trust: Hash,
    thread: Option<JoinHandle<Trust>>,
    counters: Arc<Counters>,
}

/// A cheap, clonable handle for submitting to a [`GroupCommitter`] from another thread.
#[derive(Clone)]
pub struct Submitter {
    tx: mpsc::Sender<Msg>,
    trust: Hash,
}

impl Submitter {
    /// Submit signed transition bytes; returns once the transition is durable (or refused).
    pub fn submit(&self, bytes: Vec<u8>) -> Result<Receipt> {
        // Decoding and the signature need no state: they are checked here, on the
        // submitter's thread, so the committer's thread only judges and commits.
        let checked = CheckedTransition::check(bytes, &self.trust)?;
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || Error::Store(StoreError::Unavailable("the committer has stopped".into()));
        self.tx
            .send(Msg::Submit(Box::new(Request { checked, reply })))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl GroupCommitter {
    /// Start a committer thread that owns `trust` and commits at most `max_batch`
    /// transitions per durable write transaction.
    pub fn start(mut trust: Trust, max_batch: usize) -> GroupCommitter {
        let max_batch = max_batch.max(1);
        let (tx, rx) = mpsc::channel::<Msg>();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let id = trust.id();
        let thread = std::thread::Builder::new()
            .name("cltd-committer".into())
            .spawn(move || {
                let mut stopping = false;
                while !stopping {
                    let mut batch = match rx.recv() {
                        Ok(Msg::Submit(first)) => vec![first],
                        Ok(Msg::Stop) | Err(_) => break,
                    };
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(Msg::Submit(r)) => batch.push(r),
                            Ok(Msg::Stop) => {
                                stopping = true;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let (checked, replies): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|r| (Ok(r.checked), r.reply)).unzip();
                    let done = checked.len() as u64;
                    let results = trust.submit_checked_batch(checked);
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    c.transitions.fetch_add(done, Ordering::Relaxed);
                    for (reply, result) in replies.into_iter().zip(results) {
                        // A submitter that gave up waiting is not an error.
                        let _ = reply.send(result);
                    }
                }
                trust
            })
            .expect("spawn the committer thread");
        GroupCommitter {
            tx: Some(tx),
            trust: id,
            thread: Some(thread),
            counters,
        }
    }

    /// A handle to submit from other threads.
    pub fn submitter(&self) -> Submitter {
        Submitter {
            tx: self.tx.clone().expect("running until stopped"),
            trust: self.trust,
        }
    }

    /// Submit from this thread; returns once durable.
    pub fn submit(&self, bytes: Vec<u8>) -> Result<Receipt> {
        self.submitter().submit(bytes)
    }

    /// `(batches committed, transitions submitted)` so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.counters.batches.load(Ordering::Relaxed),
            self.counters.transitions.load(Ordering::Relaxed),
        )
    }

    /// Stop: transitions submitted before this call are committed and answered, later ones
    /// (from handles still held elsewhere) get an error; the trust is handed back.
    pub fn stop(mut self) -> Trust {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Stop);
        }
        self.thread
            .take()
            .expect("running until stopped")
            .join()
            .expect("the committer thread does not panic")
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Stop);
        }
    }
}
