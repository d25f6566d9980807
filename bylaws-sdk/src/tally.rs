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
    /// Residents.
    pub resident: ClassTally,
    /// Community members.
    pub community: ClassTally,
    /// Public-interest representatives.
    pub public: ClassTally,
}

impl Tally {
    /// Count `proposal`'s ballots.
    pub fn of(proposal: &Proposal) -> Tally {
        let mut tally = Tally::default();
        // Electors by key, so counting is O(n log n) however large the electorate.
        let mut electors: BTreeMap<&[u8], (StakeholderClass, bool)> = BTreeMap::new();
        for elector in &proposal.electorate {
            if electors
                .insert(&elector.key, (elector.class, false))
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
            if std::mem::replace(voted, true) {
                continue;
            }
            tally.class_mut(*class).count(ballot.choice);
            tally.all.count(ballot.choice);
        }
        tally
    }

    /// The tally of one class.
    pub fn class(&self, class: StakeholderClass) -> &ClassTally {
        match class {
            StakeholderClass::Resident => &self.resident,
            StakeholderClass::Community => &self.community,
            StakeholderClass::Public => &self.public,
        }
    }

    fn class_mut(&mut self, class: StakeholderClass) -> &mut ClassTally {
        match class {
            StakeholderClass::Resident => &mut self.resident,
            StakeholderClass::Community => &mut self.community,
            StakeholderClass::Public => &mut self.public,
        }
    }
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
        assert_eq!(t.resident.yes, 1);
        assert_eq!(t.public.turnout(), 1);
        assert_eq!(t.community.electorate, 0);
        assert_eq!(key(1).len(), 32);
    }
}
