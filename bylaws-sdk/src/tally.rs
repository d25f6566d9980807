//! A proposal's tally: read from the host's count in the view (`proposal.votes`), and the
//! same count made from a roll (the electorate and ballots), as the host keeps it.

use crate::{Choice, ClassVotes, Proposal, Roll, StakeholderClass, Votes};

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

    /// Everybody who took part, abstentions included (the quorum count).
    pub fn turnout(&self) -> u64 {
        self.yes + self.no + self.abstain
    }

    fn add(&mut self, other: &ClassTally) {
        self.electorate += other.electorate;
        self.yes += other.yes;
        self.no += other.no;
        self.abstain += other.abstain;
    }
}

/// A proposal's tally: overall and per class, from the count the host keeps (only ballots
/// from the frozen electorate, one per elector).
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
    /// `proposal`'s ballots: one member, one vote, cast in person.
    pub fn of(proposal: &Proposal) -> Tally {
        Tally::from_votes(&proposal.votes, false)
    }

    /// `proposal`'s ballots, and for each elector who did not vote, their delegate's
    /// ballot, if the elector's delegation (frozen when the proposal opened) was still in
    /// force when voting closed and the delegate voted in person. An elector's own ballot
    /// always overrides their delegate's; delegations do not chain.
    pub fn with_proxies(proposal: &Proposal) -> Tally {
        Tally::from_votes(&proposal.votes, true)
    }

    fn from_votes(votes: &Votes, proxies: bool) -> Tally {
        let mut tally = Tally::default();
        for (i, class) in crate::CLASSES.iter().enumerate() {
            let v = votes.class(*class);
            let (py, pn, pa) = if proxies {
                (v.proxy_yes, v.proxy_no, v.proxy_abstain)
            } else {
                (0, 0, 0)
            };
            let t = ClassTally {
                electorate: u64::from(v.electorate),
                yes: u64::from(v.yes) + u64::from(py),
                no: u64::from(v.no) + u64::from(pn),
                abstain: u64::from(v.abstain) + u64::from(pa),
            };
            tally.classes[i] = t;
            tally.all.add(&t);
            tally.by_proxy += u64::from(py) + u64::from(pn) + u64::from(pa);
        }
        tally
    }

    /// The tally of one class.
    pub fn class(&self, class: StakeholderClass) -> &ClassTally {
        &self.classes[class_index(class)]
    }
}

impl Votes {
    /// The count of one class.
    pub fn class(&self, class: StakeholderClass) -> &ClassVotes {
        match class {
            StakeholderClass::Resident => &self.resident,
            StakeholderClass::Community => &self.community,
            StakeholderClass::Public => &self.public,
            StakeholderClass::Worker => &self.worker,
            StakeholderClass::User => &self.user,
            StakeholderClass::DataEthicsCouncil => &self.data_ethics_council,
        }
    }

    fn class_mut(&mut self, class: StakeholderClass) -> &mut ClassVotes {
        match class {
            StakeholderClass::Resident => &mut self.resident,
            StakeholderClass::Community => &mut self.community,
            StakeholderClass::Public => &mut self.public,
            StakeholderClass::Worker => &mut self.worker,
            StakeholderClass::User => &mut self.user,
            StakeholderClass::DataEthicsCouncil => &mut self.data_ethics_council,
        }
    }

    /// The count the host keeps of `roll`, for a proposal whose voting closes at
    /// `closes_at`: each elector's ballot in person; for an elector who did not vote, their
    /// delegate's ballot in person as a proxy count, if the delegation frozen with the
    /// electorate lasts until `closes_at` (no chains). What the testing kit puts in the
    /// views it makes.
    pub fn of_roll(roll: &Roll, closes_at: u64) -> Votes {
        let mut votes = Votes::default();
        for class in roll.electors().map(|e| e.class) {
            votes.class_mut(class).electorate += 1;
        }
        for (i, choice) in roll.ballots() {
            if let Some(class) = roll.class(i) {
                tally(votes.class_mut(class), choice, false);
            }
        }
        for (i, elector) in roll.electors().enumerate() {
            let Some(proxy) = elector.proxy else {
                continue;
            };
            if proxy.until < closes_at || roll.choice(i).is_some() {
                continue;
            }
            let Some(choice) = roll.find(proxy.delegate).and_then(|d| roll.choice(d)) else {
                continue;
            };
            tally(votes.class_mut(elector.class), choice, true);
        }
        votes
    }
}

/// Count one ballot of `choice` in `v`, in person or by proxy.
fn tally(v: &mut ClassVotes, choice: Choice, proxy: bool) {
    let slot = match (choice, proxy) {
        (Choice::Yes, false) => &mut v.yes,
        (Choice::No, false) => &mut v.no,
        (Choice::Abstain, false) => &mut v.abstain,
        (Choice::Yes, true) => &mut v.proxy_yes,
        (Choice::No, true) => &mut v.proxy_no,
        (Choice::Abstain, true) => &mut v.proxy_abstain,
    };
    *slot += 1;
}

impl Default for Votes {
    fn default() -> Self {
        let zero = ClassVotes {
            electorate: 0,
            yes: 0,
            no: 0,
            abstain: 0,
            proxy_yes: 0,
            proxy_no: 0,
            proxy_abstain: 0,
        };
        Votes {
            resident: zero,
            community: zero,
            public: zero,
            worker: zero,
            user: zero,
            data_ethics_council: zero,
        }
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
    use crate::testing::{elector_key, key, proposal_with};

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
        let t = Tally::of(&p.counted());
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
        use crate::ElectorProxy;
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
        p.proposal.closes_at = 100;
        let proxy = |to: u8, until| {
            Some(ElectorProxy {
                delegate: elector_key(to),
                until,
            })
        };
        // 2 -> 1 in force at close; 3 -> 1 but 3 voted (override); 4 -> 2 (2 did not vote in
        // person: no chain); 5 -> 1 lapsed before close.
        p.electorate[1].proxy = proxy(1, 100);
        p.electorate[2].proxy = proxy(1, 500);
        p.electorate[3].proxy = proxy(2, 500);
        p.electorate[4].proxy = proxy(1, 99);
        let plain = Tally::of(&p.counted());
        assert_eq!((plain.all.yes, plain.all.no, plain.by_proxy), (1, 1, 0));
        let t = Tally::with_proxies(&p.counted());
        assert_eq!((t.all.yes, t.all.no, t.by_proxy), (2, 1, 1));
        assert_eq!(t.class(StakeholderClass::Worker).yes, 2);
        assert_eq!(t.class(StakeholderClass::User).turnout(), 0);
    }
}
