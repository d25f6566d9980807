//! The trust's state in memory, and the changes transitions make to it.
//!
//! Every transition's effect on state is a list of [`Change`]s: the same list is applied to
//! this in-memory state, written to redb in the transition's write transaction, and digested
//! into the log entry (see [`changes_digest`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::economy::{EconKey, EconRecord};
use crate::id::{EntryHash, MemberKey, ModuleHash, TrustId};
use crate::model::{
    Asset, Choice, ClassCounts, Clause, Constitution, Grant, Hash, Member, Parameter,
    ProposalState, ProposalStatus,
};
use crate::roll::{ProposalRoll, Roster, Voter};
use crate::shared_map::SharedMap;

/// One change to the trust's state: the new value of one record (`None` removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A member admitted, updated or removed.
    Member {
        /// The member's key.
        key: MemberKey,
        /// The new record.
        member: Option<Member>,
    },
    /// An asset registered, updated or disposed of.
    Asset {
        /// The asset's id.
        id: String,
        /// The new record.
        asset: Option<Asset>,
    },
    /// A proposal opened or updated (its electorate and ballots are not in the record: see
    /// `Electorate` and `Ballot`).
    Proposal {
        /// The proposal's number.
        id: u64,
        /// The new record.
        proposal: Option<Box<ProposalState>>,
    },
    /// An electorate frozen for the first time (before the first proposal that names it):
    /// later proposals opened with the same electors name it by its digest.
    Roster {
        /// Its digest.
        hash: Hash,
        /// The electors (`None` removes them, undoing the first opening that froze them).
        roster: Option<Roster>,
    },
    /// A proposal's electorate frozen as it opens (after the proposal's own record): a
    /// roster already in the state.
    Electorate {
        /// The proposal's number.
        id: u64,
        /// The roster's digest (`None` removes the proposal's roll, undoing the opening).
        roster: Option<Hash>,
    },
    /// A ballot cast in person on a proposal (whose count, `votes`, it updates).
    Ballot {
        /// The proposal's number.
        id: u64,
        /// The voter.
        voter: MemberKey,
        /// Their choice (`None` takes the ballot back, undoing it).
        choice: Option<Choice>,
    },
    /// An access grant made.
    Grant {
        /// The grant's number.
        id: u64,
        /// The new record.
        grant: Option<Grant>,
    },
    /// A signer's next sequence number.
    Nonce {
        /// The signer's key.
        key: MemberKey,
        /// The next sequence number.
        next: Option<u64>,
    },
    /// The rules in force replaced (an amendment activated).
    Constitution(Box<Constitution>),
    /// An economy record (an account's balance, a budget line, a payment, a licence, a
    /// round's project or ballot, the fee schedule) set or removed.
    Economy {
        /// Which record.
        key: EconKey,
        /// Its new value.
        record: Option<Box<EconRecord>>,
    },
}

/// The digest of a transition's changes, as recorded in its log entry.
pub(crate) fn changes_digest(changes: &[Change]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key("cltd 2026-11 state changes v1");
    h.update(&postcard::to_stdvec(changes).expect("in-memory encoding cannot fail"));
    *h.finalize().as_bytes()
}

/// The digest of the roster of a trust's members as they are, and the times it holds for:
/// frozen at `from`, the same members give the same roster at any time from `from` until
/// (not including) the earliest end of a delegation it carries. Cleared whenever a member
/// changes. A cache of a function of the state, so it takes no part in comparing states:
/// with it or without it, opening a proposal makes the same changes (see
/// [`TrustState::roster_now`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RosterMemo(Option<(Hash, u64, u64)>);

impl PartialEq for RosterMemo {
    fn eq(&self, _: &RosterMemo) -> bool {
        true
    }
}

impl Eq for RosterMemo {}

/// Everything the host knows about a trust, in memory. Its maps are [`SharedMap`]s of
/// shared (`Arc`) records replaced whole by each change, so copying the state (what a commit
/// does while a reader holds a snapshot of it) copies a few pointers, and the commit then
/// copies only the paths to the entries it changes: its cost does not grow with the members,
/// proposals or ballots the trust has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustState {
    /// The trust's id.
    pub id: TrustId,
    /// The trust's name.
    pub name: String,
    /// Charter parameters, passed to the bylaw with every action.
    pub charter: Vec<Parameter>,
    /// Hash of the active bylaw component.
    pub module: ModuleHash,
    /// Entrenched clauses, in canonical order.
    pub entrenched: Vec<Clause>,
    /// Members by key.
    pub members: SharedMap<MemberKey, Arc<Member>>,
    /// Assets by id.
    pub assets: SharedMap<String, Arc<Asset>>,
    /// Proposals by number (from 1), each with the host's count of its ballots.
    pub proposals: SharedMap<u64, Arc<ProposalState>>,
    /// Each proposal's frozen electorate and ballots, by number.
    pub rolls: SharedMap<u64, Arc<ProposalRoll>>,
    /// Every electorate a proposal was opened with, by digest: proposals opened while the
    /// electors are the same share one.
    pub rosters: SharedMap<Hash, Roster>,
    /// The roster of the members as they are now, if known (a cache: see [`RosterMemo`]).
    pub(crate) memo: RosterMemo,
    /// Member counts per class, kept as members come and go.
    pub counts: ClassCounts,
    /// Members per name, kept as members come and go (so naming a key in a message does not
    /// scan every member: see [`TrustState::who`]).
    pub name_counts: SharedMap<String, u32>,
    /// Open proposals per proposer's key, kept as proposals change (so checking a member's
    /// limit on open proposals does not scan every proposal the trust ever had).
    pub open_counts: SharedMap<Vec<u8>, u32>,
    /// Access grants by number (from 1).
    pub grants: SharedMap<u64, Arc<Grant>>,
    /// Next sequence number per signer (absent: 0).
    pub nonces: SharedMap<MemberKey, u64>,
    /// The trust's economy: currency, balances, budget lines, payments, licences, rounds
    /// (see `economy`).
    pub economy: SharedMap<EconKey, Arc<EconRecord>>,
    /// Number of log entries.
    pub size: u64,
    /// Hash of the last log entry.
    pub head: EntryHash,
    /// Host time of the last log entry.
    pub time: u64,
}

impl TrustState {
    /// Apply `change`, returning the change that undoes it.
    pub fn apply(&mut self, change: Change) -> Change {
        fn set<K: Ord + Clone, V: Clone>(
            map: &mut SharedMap<K, V>,
            key: &K,
            value: Option<V>,
        ) -> Option<V> {
            match value {
                Some(v) => map.insert(key.clone(), v),
                None => map.remove(key),
            }
        }
        match change {
            Change::Member { key, member } => {
                self.memo = RosterMemo::default();
                let new = member.as_ref().map(|m| (m.class, m.name.clone()));
                let old = set(&mut self.members, &key, member.map(Arc::new));
                if let Some(old) = &old {
                    *self.counts.get_mut(old.class) -= 1;
                    if let Some(n) = self.name_counts.get_mut(&old.name) {
                        *n -= 1;
                        if *n == 0 {
                            self.name_counts.remove(&old.name);
                        }
                    }
                }
                if let Some((class, name)) = new {
                    *self.counts.get_mut(class) += 1;
                    *self.name_counts.get_or_insert_with(name, || 0) += 1;
                }
                Change::Member {
                    key,
                    member: old.map(Arc::unwrap_or_clone),
                }
            }
            Change::Asset { id, asset } => {
                let old = set(&mut self.assets, &id, asset.map(Arc::new));
                Change::Asset {
                    id,
                    asset: old.map(Arc::unwrap_or_clone),
                }
            }
            Change::Proposal { id, proposal } => {
                let opener = |p: &ProposalState| {
                    (p.proposal.status == ProposalStatus::Open).then(|| p.proposal.proposer.clone())
                };
                let new = proposal.as_deref().and_then(opener);
                let old = set(&mut self.proposals, &id, proposal.map(|p| Arc::new(*p)));
                if let Some(key) = old.as_deref().and_then(opener)
                    && let Some(n) = self.open_counts.get_mut(&key)
                {
                    *n -= 1;
                    if *n == 0 {
                        self.open_counts.remove(&key);
                    }
                }
                if let Some(key) = new {
                    *self.open_counts.get_or_insert_with(key, || 0) += 1;
                }
                Change::Proposal {
                    id,
                    proposal: old.map(|p| Box::new(Arc::unwrap_or_clone(p))),
                }
            }
            Change::Roster { hash, roster } => {
                if roster.is_none() && self.memo.0.is_some_and(|(h, ..)| h == hash) {
                    self.memo = RosterMemo::default();
                }
                let old = set(&mut self.rosters, &hash, roster);
                Change::Roster { hash, roster: old }
            }
            Change::Electorate { id, roster } => {
                let (opened_at, closes_at) = self
                    .proposals
                    .get(&id)
                    .map_or((0, 0), |p| (p.proposal.opened_at, p.proposal.closes_at));
                let roster = roster.map(|hash| {
                    self.rosters
                        .get(&hash)
                        .expect("a roster is in the state before a proposal names it")
                        .clone()
                });
                if let Some(r) = &roster {
                    // Frozen from the members as they are now, at `opened_at`.
                    self.memo = RosterMemo(Some((*r.hash(), opened_at, r.lapse())));
                }
                let roll = roster.map(|r| Arc::new(ProposalRoll::new(r, closes_at)));
                let old = set(&mut self.rolls, &id, roll);
                Change::Electorate {
                    id,
                    roster: old.map(|r| *r.roster().hash()),
                }
            }
            Change::Ballot { id, voter, choice } => {
                let (Some(roll), Some(proposal)) =
                    (self.rolls.get_mut(&id), self.proposals.get_mut(&id))
                else {
                    return Change::Ballot { id, voter, choice };
                };
                let votes = &mut Arc::make_mut(proposal).proposal.votes;
                let old = Arc::make_mut(roll).set(&voter, choice, votes);
                Change::Ballot {
                    id,
                    voter,
                    choice: old,
                }
            }
            Change::Grant { id, grant } => {
                let old = set(&mut self.grants, &id, grant.map(Arc::new));
                Change::Grant {
                    id,
                    grant: old.map(Arc::unwrap_or_clone),
                }
            }
            Change::Nonce { key, next } => {
                let old = set(&mut self.nonces, &key, next);
                Change::Nonce { key, next: old }
            }
            Change::Constitution(new) => {
                let old = self.constitution();
                let Constitution {
                    module,
                    charter,
                    entrenched,
                } = *new;
                self.module = module;
                self.charter = charter;
                self.entrenched = entrenched;
                Change::Constitution(Box::new(old))
            }
            Change::Economy { key, record } => {
                let old = set(&mut self.economy, &key, record.map(|r| Arc::new(*r)));
                Change::Economy {
                    key,
                    record: old.map(|r| Box::new(Arc::unwrap_or_clone(r))),
                }
            }
        }
    }

    /// The electorate a proposal opened at `now` freezes: every member with their class and
    /// their delegation if in force at `now` (a delegation counts on the proposals opened
    /// while it is in force); and whether it is new (opening records it) rather than a
    /// roster the state already has (opening names it). Without a change of members since
    /// the last opening, this is the memo's roster, found without reading every member.
    pub fn roster_now(&self, now: u64) -> (Roster, bool) {
        if let Some((hash, from, lapse)) = self.memo.0
            && (from..lapse).contains(&now)
            && let Some(r) = self.rosters.get(&hash)
        {
            return (r.clone(), false);
        }
        let roster = Roster::new(
            self.members
                .iter()
                .map(|(key, m)| Voter {
                    key: *key,
                    class: m.class,
                    proxy: m.proxy.as_ref().filter(|p| p.until > now).and_then(|p| {
                        Some((MemberKey(p.delegate.as_slice().try_into().ok()?), p.until))
                    }),
                })
                .collect(),
        );
        match self.rosters.get(roster.hash()) {
            Some(r) => (r.clone(), false),
            None => (roster, true),
        }
    }

    /// The rules in force.
    pub fn constitution(&self) -> Constitution {
        Constitution {
            module: self.module,
            charter: self.charter.clone(),
            entrenched: self.entrenched.clone(),
        }
    }

    /// Apply `changes` in order, returning the changes that undo them (in undo order).
    pub fn apply_all(&mut self, changes: &[Change]) -> Vec<Change> {
        let mut undo: Vec<Change> = changes.iter().cloned().map(|c| self.apply(c)).collect();
        undo.reverse();
        undo
    }

    /// Member counts per class.
    pub fn class_counts(&self) -> ClassCounts {
        self.counts
    }

    /// Members per name, counted from the members (what [`TrustState::name_counts`] keeps).
    pub fn count_names(&self) -> SharedMap<String, u32> {
        let mut names = SharedMap::new();
        for m in self.members.values() {
            *names.get_or_insert_with(m.name.clone(), || 0) += 1;
        }
        names
    }

    /// Open proposals per proposer, counted from the proposals (what
    /// [`TrustState::open_counts`] keeps).
    pub fn count_open(&self) -> SharedMap<Vec<u8>, u32> {
        let mut open = SharedMap::new();
        for p in self.proposals.values() {
            if p.proposal.status == ProposalStatus::Open {
                *open.get_or_insert_with(p.proposal.proposer.clone(), || 0) += 1;
            }
        }
        open
    }

    /// Open proposals `key` has proposed.
    pub fn open_by(&self, key: &[u8]) -> u32 {
        self.open_counts.get(key).copied().unwrap_or(0)
    }

    /// Member counts per class, counted from the members (what [`TrustState::counts`] keeps).
    pub fn count_members(&self) -> ClassCounts {
        let mut counts = ClassCounts::zero();
        for m in self.members.values() {
            *counts.get_mut(m.class) += 1;
        }
        counts
    }

    /// The signer's next sequence number.
    pub fn next_seq(&self, key: &MemberKey) -> u64 {
        self.nonces.get(key).copied().unwrap_or(0)
    }

    /// The number the next proposal gets.
    pub fn next_proposal_id(&self) -> u64 {
        self.proposals.keys().next_back().map_or(1, |k| k + 1)
    }

    /// The number the next grant gets.
    pub fn next_grant_id(&self) -> u64 {
        self.grants.keys().next_back().map_or(1, |k| k + 1)
    }

    /// A key as the trust knows it, for messages: the member's name (with the first eight
    /// hex digits of their key when another member has the same name), or `key 063d6eee…`
    /// for a key that is not a member's.
    pub fn who(&self, key: impl AsRef<[u8]>) -> String {
        let key = key.as_ref();
        let short = || hex::encode(key.get(..4).unwrap_or(key));
        match self.member(key) {
            Some(m) => {
                if self.name_counts.get(&m.name).copied().unwrap_or(0) > 1 {
                    format!("{} ({})", m.name, short())
                } else {
                    m.name.clone()
                }
            }
            None => format!("key {}…", short()),
        }
    }

    /// The member with this key, if any (keys of any length are accepted and simply not found).
    pub fn member(&self, key: impl AsRef<[u8]>) -> Option<&Member> {
        let key = key.as_ref();
        let key = MemberKey(key.try_into().ok()?);
        self.members.get(&key).map(|m| &**m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_restores_the_state_exactly() {
        let mut state = TrustState::default();
        state.apply(Change::Nonce {
            key: MemberKey([1; 32]),
            next: Some(4),
        });
        let before = state.clone();
        let changes = vec![
            Change::Nonce {
                key: MemberKey([1; 32]),
                next: Some(5),
            },
            Change::Nonce {
                key: MemberKey([2; 32]),
                next: Some(1),
            },
            Change::Asset {
                id: "a".into(),
                asset: None,
            },
        ];
        let undo = state.apply_all(&changes);
        assert_ne!(state, before);
        state.apply_all(&undo);
        assert_eq!(state, before);
    }

    #[test]
    fn a_name_two_members_share_is_told_apart_by_key_while_both_are_members() {
        use crate::model::{Member, StakeholderClass};
        let member = |n: u8| Change::Member {
            key: MemberKey([n; 32]),
            member: Some(Member {
                roles: Vec::new(),
                key: vec![n; 32],
                name: "Sam".into(),
                class: StakeholderClass::Resident,
                admitted_at: 0,
                proxy: None,
            }),
        };
        let mut state = TrustState::default();
        state.apply(member(1));
        assert_eq!(state.who([1u8; 32]), "Sam");
        let undo = state.apply(member(2));
        assert_eq!(state.who([1u8; 32]), "Sam (01010101)");
        assert_eq!(state.who([2u8; 32]), "Sam (02020202)");
        assert_eq!(state.name_counts, state.count_names());
        state.apply(undo);
        assert_eq!(state.who([1u8; 32]), "Sam");
        assert_eq!(state.name_counts, state.count_names());
        assert_eq!(state.counts, state.count_members());
    }

    #[test]
    fn digest_depends_on_order_and_content() {
        let a = Change::Nonce {
            key: MemberKey([1; 32]),
            next: Some(1),
        };
        let b = Change::Nonce {
            key: MemberKey([2; 32]),
            next: Some(1),
        };
        assert_ne!(
            changes_digest(&[a.clone(), b.clone()]),
            changes_digest(&[b, a.clone()])
        );
        assert_eq!(
            changes_digest(std::slice::from_ref(&a)),
            changes_digest(&[a])
        );
    }
}
