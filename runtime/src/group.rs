//! Group commit: the one way a trust shared by concurrent submitters commits. Submitters
//! queue checked transitions; one of them at a time, the *leader*, takes everything queued
//! at that moment and commits it, in arrival order, in durable redb transactions of at most
//! `max_batch`, answering each submitter once the batch holding its transition is durable.
//! It then hands the lead to the first submitter still queued. While one batch waits on the
//! disk the next one gathers, so throughput grows with concurrency without a thread of its
//! own. The CLI's in-process writers, the server and the benches all use this committer.
//!
//! An answered submitter returns at once: it never waits for the trust's lock. (An earlier
//! version had every submitter take the lock after its answer, so each of them queued behind
//! every later commit: 64 submitters got batches of about 3 and a third of one thread's
//! throughput.)
//!
//! Why no submitter waits forever: pushing a request and asking whether a leader is active
//! happen under one lock, so a request is queued only while a leader is active or becomes
//! the leader itself. A leader takes the queue including its own request (it was pushed
//! before it led, and only a leader removes requests), answers every request it took, and
//! when it leaves, normally or by unwinding from a panic, it either wakes the first queued
//! request to lead or, under the same lock, finds the queue empty and clears the flag. A
//! panic in the commit drops the replies of what it held (a waiting [`GroupCommitter::submit`]
//! then gets an error); later leaders find the trust's lock poisoned and answer with an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc};

use crate::error::{Error, Result, StoreError};
use crate::id::TrustId;
use crate::transition::CheckedTransition;
use crate::trust::{Receipt, Trust};

/// What a submitter is told when its batch is durable (or its transition refused), with the
/// trust as it stands right after that batch, so an answer can be rendered without taking
/// the lock again. It runs on the leader's thread, holding the trust's lock: keep it short.
pub type Reply = Box<dyn FnOnce(&Trust, Result<Receipt>) + Send>;

/// What wakes a queued submitter.
enum Wake {
    /// Its transition was answered.
    Answered,
    /// The previous leader has left, and this submitter's transition is still queued: lead.
    Lead,
}

struct Request {
    checked: CheckedTransition,
    reply: Reply,
    wake: mpsc::SyncSender<Wake>,
}

/// Transitions waiting for a commit, in arrival order, and whether a leader is committing.
#[derive(Default)]
struct Queue {
    waiting: Vec<Request>,
    leading: bool,
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

/// Hands the lead on when a leader leaves, however it leaves.
struct Handoff<'a>(&'a GroupCommitter);

impl Drop for Handoff<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue();
        // A queued submitter is blocked on its wake channel until answered, so the send
        // succeeds; a request whose receiver is gone anyway is dropped and the next tried.
        while let Some(first) = queue.waiting.first() {
            if first.wake.try_send(Wake::Lead).is_ok() {
                return;
            }
            queue.waiting.remove(0);
        }
        queue.leading = false;
    }
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

    /// Queue a transition checked beforehand and return once `reply` has been called with
    /// its answer (once its batch is durable, or it is refused): committed by this thread
    /// if no other submitter is leading, else by the leader or by this thread when the lead
    /// passes to it.
    pub fn submit_checked(&self, checked: CheckedTransition, reply: Reply) {
        // Room for a `Lead` and then an `Answered`, so a send never blocks a leader.
        let (wake, woken) = mpsc::sync_channel(2);
        let mut lead = {
            let mut queue = self.queue();
            queue.waiting.push(Request {
                checked,
                reply,
                wake,
            });
            !std::mem::replace(&mut queue.leading, true)
        };
        loop {
            if lead {
                self.lead();
                return;
            }
            match woken.recv() {
                Ok(Wake::Lead) => lead = true,
                // Answered, or the leader holding it panicked (its reply was dropped).
                Ok(Wake::Answered) | Err(_) => return,
            }
        }
    }

    /// As the leader: take every transition queued so far, commit them, answer each, and
    /// hand the lead on.
    fn lead(&self) {
        let _handoff = Handoff(self);
        let guard = self.trust.lock();
        let queued = std::mem::take(&mut self.queue().waiting);
        let mut trust = match guard {
            Ok(trust) => trust,
            Err(poisoned) => {
                // An earlier commit panicked with the trust in hand: answer at once rather
                // than leave these waiting. Nothing of theirs was written.
                let trust = poisoned.into_inner();
                for r in queued {
                    (r.reply)(&trust, Err(poisoned_error()));
                    let _ = r.wake.try_send(Wake::Answered);
                }
                return;
            }
        };
        let mut queued = queued.into_iter().peekable();
        while queued.peek().is_some() {
            let (checked, answers): (Vec<_>, Vec<_>) = queued
                .by_ref()
                .take(self.max_batch)
                .map(|r| (Ok(r.checked), (r.reply, r.wake)))
                .unzip();
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.transitions
                .fetch_add(checked.len() as u64, Ordering::Relaxed);
            let results = trust.submit_checked_batch(checked);
            for ((reply, wake), result) in answers.into_iter().zip(results) {
                reply(&trust, result);
                let _ = wake.try_send(Wake::Answered);
            }
        }
    }

    /// The queue, locked. It is held only to push or take, never across a panic point.
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
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
