//! Group commit: the one way a trust shared by concurrent submitters commits. Submitters
//! queue checked transitions; whoever then takes the trust's lock commits everything queued
//! at that moment, in arrival order, in durable redb transactions of at most `max_batch`,
//! and answers each submitter once the batch holding its transition is durable. While one
//! batch waits on the disk the next one gathers, so throughput grows with concurrency
//! without a thread of its own. The CLI's in-process writers, the server and the benches all
//! use this committer.
//!
//! Why no submitter waits forever: a submitter queues its transition *before* it takes the
//! lock, and a lock holder whose own transition is still queued takes the whole queue, so
//! when a submitter gets the lock its transition has either been taken by an earlier holder
//! (who answered it before releasing the lock; it then releases at once, committing nothing,
//! which keeps batches large) or is taken now. An answer is sent on every path except a
//! panic in the commit, which drops the replies (a waiting [`GroupCommitter::submit`] then
//! gets an error).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc};

use crate::error::{Error, Result, StoreError};
use crate::id::TrustId;
use crate::transition::CheckedTransition;
use crate::trust::{Receipt, Trust};

/// What a submitter is told when its batch is durable (or its transition refused), with the
/// trust as it stands right after that batch, so an answer can be rendered without taking
/// the lock again. It runs on whichever submitter's thread committed the batch, holding the
/// trust's lock: keep it short.
pub type Reply = Box<dyn FnOnce(&Trust, Result<Receipt>) + Send>;

struct Request {
    checked: CheckedTransition,
    reply: Reply,
}

/// Transitions waiting for a commit, numbered in arrival order.
#[derive(Default)]
struct Queue {
    waiting: Vec<Request>,
    /// Transitions queued so far (the next one's number).
    pushed: u64,
    /// Transitions taken for a commit so far: every number below this one.
    taken: u64,
}

/// A trust shared by any number of submitting threads (wrap it in an `Arc`), committed in
/// groups. Reads take the same lock ([`GroupCommitter::lock`]).
pub struct GroupCommitter {
    id: TrustId,
    max_batch: usize,
    trust: Mutex<Trust>,
    queue: Mutex<Queue>,
    batches: AtomicU64,
    transitions: AtomicU64,
}

impl GroupCommitter {
    /// Share `trust`, committing at most `max_batch` transitions per durable write
    /// transaction (at least 1; `usize::MAX` commits everything queued at once).
    pub fn new(trust: Trust, max_batch: usize) -> GroupCommitter {
        GroupCommitter {
            id: trust.id(),
            max_batch: max_batch.max(1),
            trust: Mutex::new(trust),
            queue: Mutex::new(Queue::default()),
            batches: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
        }
    }

    /// The trust's id.
    pub fn id(&self) -> TrustId {
        self.id
    }

    /// Submit signed transition bytes; returns once the transition is durable (or refused).
    /// Decoding and the signature need no state: they are checked here, on the caller's
    /// thread, and a transition that fails them never reaches the queue.
    pub fn submit(&self, bytes: Vec<u8>) -> Result<Receipt> {
        let checked = CheckedTransition::check(bytes, &self.id)?;
        let (tx, answer) = mpsc::sync_channel(1);
        self.submit_checked(
            checked,
            Box::new(move |_, result| {
                // A submitter that gave up waiting is not an error.
                let _ = tx.send(result);
            }),
        );
        answer.recv().map_err(|_| {
            Error::Store(StoreError::Unavailable(
                "the commit holding this transition failed; nothing of it was acknowledged".into(),
            ))
        })?
    }

    /// Queue a transition checked beforehand and commit what is queued, if no other
    /// submitter does first; `reply` is called once its batch is durable (or it is refused).
    /// Blocks while another batch commits.
    pub fn submit_checked(&self, checked: CheckedTransition, reply: Reply) {
        let ticket = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.waiting.push(Request { checked, reply });
            queue.pushed += 1;
            queue.pushed - 1
        };
        self.commit_queued(ticket);
    }

    /// Take the trust's lock; unless transition `ticket` was taken by an earlier holder
    /// meanwhile, take every transition queued so far and commit them.
    fn commit_queued(&self, ticket: u64) {
        let guard = self.trust.lock();
        // The queue's lock is held only to push or take, never across a panic point.
        let queued = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if queue.taken > ticket {
                // Answered already: whoever holds a transition still queued commits it.
                return;
            }
            queue.taken = queue.pushed;
            std::mem::take(&mut queue.waiting)
        };
        let mut trust = match guard {
            Ok(trust) => trust,
            Err(poisoned) => {
                // An earlier commit panicked with the trust in hand: answer at once rather
                // than leave these waiting. Nothing of theirs was written.
                let trust = poisoned.into_inner();
                for r in queued {
                    (r.reply)(&trust, Err(poisoned_error()));
                }
                return;
            }
        };
        let mut queued = queued.into_iter().peekable();
        while queued.peek().is_some() {
            let (checked, replies): (Vec<_>, Vec<_>) = queued
                .by_ref()
                .take(self.max_batch)
                .map(|r| (Ok(r.checked), r.reply))
                .unzip();
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.transitions
                .fetch_add(checked.len() as u64, Ordering::Relaxed);
            let results = trust.submit_checked_batch(checked);
            for (reply, result) in replies.into_iter().zip(results) {
                reply(&trust, result);
            }
        }
    }

    /// The trust, locked: for reads, and for writes that are not signed transitions (module
    /// uploads, previews). Fails if a commit panicked while holding it.
    pub fn lock(&self) -> Result<MutexGuard<'_, Trust>> {
        self.trust.lock().map_err(|_| poisoned_error())
    }

    /// `(batches committed, transitions committed or judged)` so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.transitions.load(Ordering::Relaxed),
        )
    }

    /// The trust back, once no one else holds the committer (every submission made before
    /// this call was answered: submissions block until answered).
    pub fn into_trust(self) -> Result<Trust> {
        self.trust.into_inner().map_err(|_| poisoned_error())
    }
}

fn poisoned_error() -> Error {
    Error::Store(StoreError::Unavailable(
        "this trust is unavailable after an internal fault; restart the process".into(),
    ))
}
