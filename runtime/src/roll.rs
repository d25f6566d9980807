//! A proposal's frozen electorate and its ballots, as the host keeps them, and the count
//! (`votes`) it keeps from them.
//!
//! The electorate is frozen when a proposal opens and never changes. It is a [`Roster`]:
//! named by its digest and shared (`Arc`) by every proposal opened while the members, their
//! classes and their delegations in force are the same, and by every copy of the state, so
//! opening a proposal in an unchanged trust writes a reference, not a list of members. The
//! ballots cast in person are a [`SharedMap`] from elector to choice: a ballot sets one entry
//! and adjusts the count in place, touching only the voter and the electors who delegated to
//! them, and copies of the state share the rest. So opening a proposal and casting a vote
//! cost the same whatever the size of the electorate, even while a published snapshot shares
//! the roll, and the bylaw's view carries the count, not the ballots.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::id::MemberKey;
use crate::model::{Choice, Hash, Roll, RollProxy, StakeholderClass, Votes};
use crate::shared_map::SharedMap;

/// An elector as the host keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voter {
    /// The elector's key.
    pub key: MemberKey,
    /// Their class when the proposal opened.
    pub class: StakeholderClass,
    /// Their delegation in force when the proposal opened: the delegate and when it lapses.
    pub proxy: Option<(MemberKey, u64)>,
}

/// An electorate as frozen when a proposal opens: the electors in key order (a key listed
/// twice counts once), named by the digest of their encoding. Cloning shares the electors.
///
/// Encoded (serde) as its electors only: the digest and the counts are derived from them
/// when it is decoded, so a stored roster cannot name a digest it does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    hash: Hash,
    voters: Arc<[Voter]>,
    /// The count before anybody has voted: electors per class.
    count: Votes,
    /// The earliest end of a delegation it carries (`u64::MAX` for none).
    lapse: u64,
}

impl Roster {
    /// The roster of `voters`, in any order.
    pub fn new(mut voters: Vec<Voter>) -> Roster {
        // Members come in key order from the state's map: already sorted, checked in O(n).
        if !voters.is_sorted_by_key(|v| v.key) {
            voters.sort_by_key(|v| v.key);
        }
        voters.dedup_by(|a, b| a.key == b.key);
        let mut h = blake3::Hasher::new_derive_key("cltd 2026-12 roster v1");
        h.update(&postcard::to_stdvec(&voters).expect("in-memory encoding cannot fail"));
        let mut count = Votes::zero();
        for v in &voters {
            count.class_mut(v.class).electorate += 1;
        }
        let lapse = voters
            .iter()
            .filter_map(|v| v.proxy.map(|(_, until)| until))
            .min()
            .unwrap_or(u64::MAX);
        Roster {
            hash: *h.finalize().as_bytes(),
            voters: voters.into(),
            count,
            lapse,
        }
    }

    /// The digest that names it (over its electors' postcard encoding).
    pub fn hash(&self) -> &Hash {
        &self.hash
    }

    /// The electors, in key order.
    pub fn voters(&self) -> &[Voter] {
        &self.voters
    }

    /// The count before anybody has voted: its electors per class.
    pub fn opening_count(&self) -> &Votes {
        &self.count
    }

    /// The earliest time a delegation it carries ends (`u64::MAX` if it carries none): the
    /// roster of the same members frozen at a later time is the same only before then.
    pub fn lapse(&self) -> u64 {
        self.lapse
    }
}

impl Serialize for Roster {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.voters.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Roster {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Roster, D::Error> {
        Vec::<Voter>::deserialize(d).map(Roster::new)
    }
}

/// A proposal's electorate (in key order), who delegated to whom, and each elector's ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRoll {
    roster: Roster,
    /// For elector `i`, `delegators[starts[i]..starts[i + 1]]` are the electors whose
    /// delegation to `i` counts at the close (it lasts until voting closes). Both empty when
    /// no delegation counts.
    starts: Arc<[u32]>,
    delegators: Arc<[u32]>,
    /// Each elector's delegate, if their delegation counts (index into the electorate,
    /// [`NO_DELEGATE`] for none); empty when no delegation counts.
    delegate: Arc<[u32]>,
    /// The ballots cast in person, by elector (index into the electorate).
    choices: SharedMap<u32, Choice>,
}

/// Elector `i`'s position as the key of [`ProposalRoll::choices`].
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 electors")
}

/// Add one to (or take one from) `votes` for a ballot of `choice` counting for an elector of
/// `class`, in person or by `proxy`.
fn tally(votes: &mut Votes, class: StakeholderClass, choice: Choice, proxy: bool, add: bool) {
    let v = votes.class_mut(class);
    let slot = match (choice, proxy) {
        (Choice::Yes, false) => &mut v.yes,
        (Choice::No, false) => &mut v.no,
        (Choice::Abstain, false) => &mut v.abstain,
        (Choice::Yes, true) => &mut v.proxy_yes,
        (Choice::No, true) => &mut v.proxy_no,
        (Choice::Abstain, true) => &mut v.proxy_abstain,
    };
    *slot = if add { *slot + 1 } else { *slot - 1 };
}

/// In [`ProposalRoll::delegate`]: the elector's delegation does not count.
const NO_DELEGATE: u32 = u32::MAX;

impl ProposalRoll {
    /// The roll of a proposal closing at `closes_at` with electorate `roster`, nobody having
    /// voted.
    pub fn new(roster: Roster, closes_at: u64) -> ProposalRoll {
        let electorate = roster.voters();
        let position = |key: &MemberKey| {
            electorate
                .binary_search_by(|v| v.key.cmp(key))
                .ok()
                .map(index)
        };
        let delegate: Vec<u32> = if roster.lapse() == u64::MAX {
            // Nobody delegated.
            Vec::new()
        } else {
            electorate
                .iter()
                .map(|v| match v.proxy {
                    Some((to, until)) if until >= closes_at => position(&to).unwrap_or(NO_DELEGATE),
                    _ => NO_DELEGATE,
                })
                .collect()
        };
        let counted = delegate.iter().filter(|d| **d != NO_DELEGATE).count();
        let (starts, delegators, delegate) = if counted == 0 {
            (Vec::new(), Vec::new(), Vec::new())
        } else {
            let mut counts = vec![0u32; electorate.len() + 1];
            for d in delegate.iter().filter(|d| **d != NO_DELEGATE) {
                counts[*d as usize + 1] += 1;
            }
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            let mut next = counts.clone();
            let mut delegators = vec![0u32; counted];
            for (i, d) in delegate.iter().enumerate() {
                if *d != NO_DELEGATE {
                    let slot = &mut next[*d as usize];
                    delegators[*slot as usize] = index(i);
                    *slot += 1;
                }
            }
            (counts, delegators, delegate)
        };
        ProposalRoll {
            choices: SharedMap::new(),
            starts: starts.into(),
            delegators: delegators.into(),
            delegate: delegate.into(),
            roster,
        }
    }

    /// The frozen electorate, in key order.
    pub fn electorate(&self) -> &[Voter] {
        self.roster.voters()
    }

    /// The frozen electorate as shared with other proposals.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The elector with `key`, and their position.
    fn find(&self, key: &MemberKey) -> Option<usize> {
        self.electorate().binary_search_by(|v| v.key.cmp(key)).ok()
    }

    /// Whether `key` is in the frozen electorate.
    pub fn contains(&self, key: &MemberKey) -> bool {
        self.find(key).is_some()
    }

    /// The ballot `key` cast in person, if any.
    pub fn choice(&self, key: &MemberKey) -> Option<Choice> {
        self.find(key).and_then(|i| self.choice_of(i))
    }

    /// The ballot elector `i` cast in person, if any.
    fn choice_of(&self, i: usize) -> Option<Choice> {
        self.choices.get(&index(i)).copied()
    }

    /// Every ballot cast in person, in key order.
    pub fn ballots(&self) -> impl Iterator<Item = (&Voter, Choice)> + '_ {
        self.ballots_after(None)
    }

    /// Ballots cast in person by electors whose keys sort after `after` (all of them for
    /// `None`), in key order: a page of [`ProposalRoll::ballots`] found by binary search.
    pub fn ballots_after(
        &self,
        after: Option<&MemberKey>,
    ) -> impl Iterator<Item = (&Voter, Choice)> + '_ {
        let electorate = self.electorate();
        let start = after.map_or(0, |k| electorate.partition_point(|v| v.key <= *k));
        self.choices
            .range(index(start)..)
            .map(|(i, c)| (&electorate[*i as usize], *c))
    }

    /// Ballots cast in person.
    pub fn turnout(&self) -> usize {
        self.choices.len()
    }

    /// Set `key`'s ballot to `choice` (`None` takes it back), adjusting `votes`, the count
    /// of this roll; returns the ballot it replaces. A key outside the electorate changes
    /// nothing. Touches the voter and the electors who delegated to them only.
    pub fn set(
        &mut self,
        key: &MemberKey,
        choice: Option<Choice>,
        votes: &mut Votes,
    ) -> Option<Choice> {
        let i = self.find(key)?;
        let affected: Vec<usize> = std::iter::once(i)
            .chain(self.delegators_of(i).map(|d| d as usize))
            .collect();
        for &e in &affected {
            self.contribute(e, votes, false);
        }
        let old = match choice {
            Some(c) => self.choices.insert(index(i), c),
            None => self.choices.remove(&index(i)),
        };
        for &e in &affected {
            self.contribute(e, votes, true);
        }
        old
    }

    fn delegators_of(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        let (from, to) = match self.starts.get(i..i + 2) {
            Some(&[from, to]) => (from as usize, to as usize),
            _ => (0, 0),
        };
        self.delegators[from..to].iter().copied()
    }

    /// Add (or take away) what elector `e` counts for: their own ballot, or else their
    /// delegate's as a proxy.
    fn contribute(&self, e: usize, votes: &mut Votes, add: bool) {
        let class = self.electorate()[e].class;
        let delegate = self.delegate.get(e).filter(|d| **d != NO_DELEGATE);
        let (choice, proxy) = match (self.choice_of(e), delegate) {
            (Some(c), _) => (c, false),
            (None, Some(&d)) => match self.choice_of(d as usize) {
                Some(c) => (c, true),
                None => return,
            },
            (None, None) => return,
        };
        tally(votes, class, choice, proxy, add);
    }

    /// The count of this roll from scratch (what [`ProposalRoll::set`] keeps up to date),
    /// from the ballots cast: each voter's own, and for each elector who delegated to them
    /// and did not vote, the same choice by proxy.
    pub fn count(&self) -> Votes {
        let mut votes = self.roster.count;
        let electorate = self.electorate();
        for (&i, &choice) in self.choices.iter() {
            tally(
                &mut votes,
                electorate[i as usize].class,
                choice,
                false,
                true,
            );
            for d in self.delegators_of(i as usize) {
                if !self.choices.contains_key(&d) {
                    tally(&mut votes, electorate[d as usize].class, choice, true, true);
                }
            }
        }
        votes
    }

    /// The roll as a bylaw reads it (`view.roll`): the electors' keys (as words) and
    /// classes, their delegations, and the ballots cast in person, as lists of numbers that
    /// are built, and lowered into the guest, a copy of memory each.
    pub fn to_wit(&self) -> Roll {
        let electorate = self.electorate();
        let mut keys = Vec::with_capacity(4 * electorate.len());
        let mut classes = Vec::with_capacity(electorate.len());
        let mut proxies = Vec::new();
        for (i, v) in electorate.iter().enumerate() {
            let (a, b, c, d) = v.key.to_words();
            keys.extend([a, b, c, d]);
            classes.push(class_number(v.class));
            if let Some((to, until)) = v.proxy {
                proxies.push(RollProxy {
                    elector: index(i),
                    delegate: to.to_words(),
                    until,
                });
            }
        }
        // A choice's stored byte is also its case number in the contract's `choice`.
        let (voters, choices) = self.choices.iter().map(|(i, c)| (*i, c.to_byte())).unzip();
        Roll {
            keys,
            classes,
            proxies,
            voters,
            choices,
        }
    }
}

/// `class`'s case number in the contract's `stakeholder-class` (what `roll.classes` holds).
fn class_number(class: StakeholderClass) -> u8 {
    match class {
        StakeholderClass::Resident => 0,
        StakeholderClass::Community => 1,
        StakeholderClass::Public => 2,
        StakeholderClass::Worker => 3,
        StakeholderClass::User => 4,
        StakeholderClass::DataEthicsCouncil => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> MemberKey {
        MemberKey([n; 32])
    }

    #[test]
    fn the_kept_count_is_the_count_from_scratch_after_any_ballots() {
        use StakeholderClass::*;
        // 2 -> 1 lasting; 3 -> 1 lasting; 4 -> 2 (no chains); 5 -> 1 lapsing before the close.
        let voters = vec![
            Voter {
                key: k(5),
                class: User,
                proxy: Some((k(1), 99)),
            },
            Voter {
                key: k(1),
                class: Worker,
                proxy: None,
            },
            Voter {
                key: k(2),
                class: Worker,
                proxy: Some((k(1), 100)),
            },
            Voter {
                key: k(3),
                class: Worker,
                proxy: Some((k(1), 500)),
            },
            Voter {
                key: k(4),
                class: Worker,
                proxy: Some((k(2), 500)),
            },
            Voter {
                key: k(6),
                class: User,
                proxy: Some((k(9), 500)),
            },
        ];
        let mut roll = ProposalRoll::new(Roster::new(voters), 100);
        let mut votes = roll.count();
        assert_eq!(votes.worker.electorate, 4);
        assert_eq!(votes.user.electorate, 2);
        let steps = [
            (1, Some(Choice::Yes)),
            (3, Some(Choice::No)),
            (9, Some(Choice::Yes)),
            (2, Some(Choice::Abstain)),
            (2, None),
            (1, Some(Choice::No)),
            (6, Some(Choice::Yes)),
        ];
        for (n, c) in steps {
            roll.set(&k(n), c, &mut votes);
            assert_eq!(votes, roll.count(), "after {n} -> {c:?}");
        }
        // 1 no in person, 3 no in person, 6 yes in person; 2 by proxy of 1 (no); 4 follows 2,
        // who did not vote: nothing; 5's delegation lapsed.
        assert_eq!((votes.worker.no, votes.worker.proxy_no), (2, 1));
        assert_eq!((votes.user.yes, votes.user.proxy_yes), (1, 0));
        assert_eq!(roll.turnout(), 3);
        assert_eq!(roll.choice(&k(9)), None, "not an elector: not counted");
        // Pages of ballots in key order, continued after any key, elector or not.
        let keys = |after: Option<MemberKey>| {
            roll.ballots_after(after.as_ref())
                .map(|(v, _)| v.key.0[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(None), [1, 3, 6]);
        assert_eq!(keys(Some(k(1))), [3, 6]);
        assert_eq!(keys(Some(k(2))), [3, 6], "after a key that did not vote");
        assert_eq!(keys(Some(k(6))), Vec::<u8>::new());
        assert_eq!(keys(Some(k(0))), [1, 3, 6], "before the first key");
    }
}
