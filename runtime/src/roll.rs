//! A proposal's frozen electorate and its ballots, as the host keeps them, and the count
//! (`votes`) it keeps from them.
//!
//! The electorate is frozen when a proposal opens and never changes, so it is shared
//! (`Arc`) by every copy of the state; a ballot sets one byte of the per-elector choices and
//! adjusts the count in place, touching only the voter and the electors who delegated to
//! them. So a vote costs the same whatever the size of the electorate (bar copying one byte
//! per elector when a published snapshot shares the choices), and the bylaw's view carries
//! the count, not the ballots.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id::MemberKey;
use crate::model::{Ballot, Choice, Elector, Proxy, Roll, StakeholderClass, Votes};

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

/// A proposal's electorate (in key order), who delegated to whom, and each elector's ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRoll {
    electorate: Arc<[Voter]>,
    /// For elector `i`, `delegators[starts[i]..starts[i + 1]]` are the electors whose
    /// delegation to `i` counts at the close (it lasts until voting closes).
    starts: Arc<[u32]>,
    delegators: Arc<[u32]>,
    /// Each elector's delegate, if their delegation counts (index into the electorate).
    delegate: Arc<[Option<u32>]>,
    /// Each elector's ballot in person.
    choices: Vec<Option<Choice>>,
}

impl ProposalRoll {
    /// The roll of a proposal closing at `closes_at` with `electorate` (in any order; a key
    /// listed twice counts once), nobody having voted.
    pub fn new(mut electorate: Vec<Voter>, closes_at: u64) -> ProposalRoll {
        electorate.sort_by_key(|v| v.key);
        electorate.dedup_by(|a, b| a.key == b.key);
        let index = |key: &MemberKey| {
            electorate
                .binary_search_by(|v| v.key.cmp(key))
                .ok()
                .map(|i| u32::try_from(i).expect("fewer than 2^32 electors"))
        };
        let delegate: Vec<Option<u32>> = electorate
            .iter()
            .map(|v| match v.proxy {
                Some((to, until)) if until >= closes_at => index(&to),
                _ => None,
            })
            .collect();
        let mut counts = vec![0u32; electorate.len() + 1];
        for d in delegate.iter().flatten() {
            counts[*d as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut next = counts.clone();
        let mut delegators = vec![0u32; delegate.iter().flatten().count()];
        for (i, d) in delegate.iter().enumerate() {
            if let Some(d) = d {
                let slot = &mut next[*d as usize];
                delegators[*slot as usize] = u32::try_from(i).expect("fewer than 2^32 electors");
                *slot += 1;
            }
        }
        ProposalRoll {
            choices: vec![None; electorate.len()],
            electorate: electorate.into(),
            starts: counts.into(),
            delegators: delegators.into(),
            delegate: delegate.into(),
        }
    }

    /// The frozen electorate, in key order.
    pub fn electorate(&self) -> &[Voter] {
        &self.electorate
    }

    /// The elector with `key`, and their position.
    fn find(&self, key: &MemberKey) -> Option<usize> {
        self.electorate.binary_search_by(|v| v.key.cmp(key)).ok()
    }

    /// Whether `key` is in the frozen electorate.
    pub fn contains(&self, key: &MemberKey) -> bool {
        self.find(key).is_some()
    }

    /// The ballot `key` cast in person, if any.
    pub fn choice(&self, key: &MemberKey) -> Option<Choice> {
        self.find(key).and_then(|i| self.choices[i])
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
        let start = after.map_or(0, |k| self.electorate.partition_point(|v| v.key <= *k));
        self.electorate[start..]
            .iter()
            .zip(&self.choices[start..])
            .filter_map(|(v, c)| c.map(|c| (v, c)))
    }

    /// Ballots cast in person.
    pub fn turnout(&self) -> usize {
        self.choices.iter().flatten().count()
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
        let old = std::mem::replace(&mut self.choices[i], choice);
        for &e in &affected {
            self.contribute(e, votes, true);
        }
        old
    }

    fn delegators_of(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        let (from, to) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        self.delegators[from..to].iter().copied()
    }

    /// Add (or take away) what elector `e` counts for: their own ballot, or else their
    /// delegate's as a proxy.
    fn contribute(&self, e: usize, votes: &mut Votes, add: bool) {
        let class = self.electorate[e].class;
        let (choice, proxy) = match (self.choices[e], self.delegate[e]) {
            (Some(c), _) => (c, false),
            (None, Some(d)) => match self.choices[d as usize] {
                Some(c) => (c, true),
                None => return,
            },
            (None, None) => return,
        };
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

    /// The count of `electorate` before anybody has voted: its electors per class.
    pub fn opening_count(electorate: &[Voter]) -> Votes {
        let mut votes = Votes::zero();
        for v in electorate {
            votes.class_mut(v.class).electorate += 1;
        }
        votes
    }

    /// The count of this roll from scratch (what [`ProposalRoll::set`] keeps up to date).
    pub fn count(&self) -> Votes {
        let mut votes = ProposalRoll::opening_count(&self.electorate);
        for e in 0..self.electorate.len() {
            self.contribute(e, &mut votes, true);
        }
        votes
    }

    /// The roll as a bylaw reads it (`view.roll`): electors and ballots in key order.
    pub fn to_wit(&self) -> Roll {
        let key = |k: &MemberKey| k.to_vec();
        Roll {
            electorate: self
                .electorate
                .iter()
                .map(|v| Elector {
                    key: key(&v.key),
                    class: v.class,
                    proxy: v.proxy.map(|(to, until)| Proxy {
                        delegate: key(&to),
                        until,
                    }),
                })
                .collect(),
            ballots: self
                .ballots()
                .map(|(v, choice)| Ballot {
                    voter: key(&v.key),
                    choice,
                })
                .collect(),
        }
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
        let mut roll = ProposalRoll::new(voters, 100);
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
