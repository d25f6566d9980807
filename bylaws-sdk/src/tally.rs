//! Counting a proposal's ballots against its frozen electorate.

use std::collections::BTreeMap;

use crate::{Choice, Proposal, StakeholderClass};

/// The count for one stakeholder class (or for everybody).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassTally {
    /// Electors in the frozen electorate.
    pub electorate: u64,
    /// Yes votes.
    pub yes: u64,
    /// No votes.
    pub no: u64,
    /// Abstentions: they count towards quorum, not towards the threshold.
    pub abstain: u64,
}

impl ClassTally {
    /// Votes cast for or against (abstentions excluded).
    pub fn cast(&self) -> u64 {
        self.yes + self.no
    }

    fn count(&mut self, choice: Choice) {
        match choice {
            Choice::Yes => self.yes += 1,
            Choice::No => self.no += 1,
            Choice::Abstain => self.abstain += 1,
        }
    }

    /// Everybody who took part, abstentions included (the quorum count).
    pub fn turnout(&self) -> u64 {
        self.yes + self.no + self.abstain
    }
}

/// A proposal's tally: overall and per class. Only ballots from the frozen electorate count,
/// and only one per elector (the host guarantees both; the tally re-checks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Everybody.
    pub all: ClassTally,
    /// Per class, in the order of [`crate::CLASSES`].
    classes: [ClassTally; 6],
    /// Electors whose delegate's ballot was counted for them ([`Tally::with_proxies`]).
    pub by_proxy: u64,
}

impl Tally {
    /// Count `proposal`'s ballots: one member, one vote, cast in person.
    pub fn of(proposal: &Proposal) -> Tally {
        Tally::count(proposal, false)
    }

    /// Count `proposal`'s ballots, and for each elector who did not vote, their delegate's
    /// ballot, if the elector's delegation (frozen when the proposal opened) was still in
    /// force when voting closed and the delegate voted in person. An elector's own ballot
    /// always overrides their delegate's; delegations do not chain.
    pub fn with_proxies(proposal: &Proposal) -> Tally {
        Tally::count(proposal, true)
    }

    fn count(proposal: &Proposal, proxies: bool) -> Tally {
        let mut tally = Tally::default();
        // Electors by key, so counting is O(n log n) however large the electorate.
        let mut electors: BTreeMap<&[u8], (StakeholderClass, Option<Choice>)> = BTreeMap::new();
        for elector in &proposal.electorate {
            if electors
                .insert(&elector.key, (elector.class, None))
                .is_none()
            {
                tally.class_mut(elector.class).electorate += 1;
                tally.all.electorate += 1;
            }
        }
        for ballot in &proposal.ballots {
            let Some((class, voted)) = electors.get_mut(ballot.voter.as_slice()) else {
                continue;
            };
            if voted.is_some() {
                continue;
            }
            *voted = Some(ballot.choice);
            let class = *class;
            tally.class_mut(class).count(ballot.choice);
            tally.all.count(ballot.choice);
        }
        if proxies {
            for elector in &proposal.electorate {
                let Some(proxy) = &elector.proxy else {
                    continue;
                };
                if proxy.until < proposal.closes_at
                    || electors
                        .get(elector.key.as_slice())
                        .is_none_or(|e| e.1.is_some())
                {
                    continue;
                }
                let Some(choice) = electors.get(proxy.delegate.as_slice()).and_then(|d| d.1) else {
                    continue;
                };
                tally.class_mut(elector.class).count(choice);
                tally.all.count(choice);
                tally.by_proxy += 1;
            }
        }
        tally
    }

    /// The tally of one class.
    pub fn class(&self, class: StakeholderClass) -> &ClassTally {
        &self.classes[class_index(class)]
    }

    fn class_mut(&mut self, class: StakeholderClass) -> &mut ClassTally {
        &mut self.classes[class_index(class)]
    }
}

fn class_index(class: StakeholderClass) -> usize {
    crate::CLASSES
        .iter()
        .position(|c| *c == class)
        .expect("CLASSES lists every class")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{key, proposal_with};

    #[test]
    fn counts_only_electors_once() {
        let p = proposal_with(
            &[
                (1, StakeholderClass::Resident),
                (2, StakeholderClass::Public),
            ],
            &[
                (1, Choice::Yes),
                (1, Choice::No),
                (3, Choice::Yes),
                (2, Choice::Abstain),
            ],
        );
        let t = Tally::of(&p);
        assert_eq!(
            t.all,
            ClassTally {
                electorate: 2,
                yes: 1,
                no: 0,
                abstain: 1
            }
        );
        assert_eq!(t.class(StakeholderClass::Resident).yes, 1);
        assert_eq!(t.class(StakeholderClass::Public).turnout(), 1);
        assert_eq!(t.class(StakeholderClass::Community).electorate, 0);
        assert_eq!(key(1).len(), 32);
    }

    #[test]
    fn proxies_count_only_in_force_unoverridden_and_unchained() {
        use crate::Proxy;
        let mut p = proposal_with(
            &[
                (1, StakeholderClass::Worker),
                (2, StakeholderClass::Worker),
                (3, StakeholderClass::Worker),
                (4, StakeholderClass::Worker),
                (5, StakeholderClass::User),
            ],
            &[(1, Choice::Yes), (3, Choice::No)],
        );
        p.closes_at = 100;
        let proxy = |to: u8, until| {
            Some(Proxy {
                delegate: key(to),
                until,
            })
        };
        // 2 -> 1 in force at close; 3 -> 1 but 3 voted (override); 4 -> 2 (2 did not vote in
        // person: no chain); 5 -> 1 lapsed before close.
        p.electorate[1].proxy = proxy(1, 100);
        p.electorate[2].proxy = proxy(1, 500);
        p.electorate[3].proxy = proxy(2, 500);
        p.electorate[4].proxy = proxy(1, 99);
        let plain = Tally::of(&p);
        assert_eq!((plain.all.yes, plain.all.no, plain.by_proxy), (1, 1, 0));
        let t = Tally::with_proxies(&p);
        assert_eq!((t.all.yes, t.all.no, t.by_proxy), (2, 1, 1));
        assert_eq!(t.class(StakeholderClass::Worker).yes, 2);
        assert_eq!(t.class(StakeholderClass::User).turnout(), 0);
    }
}
