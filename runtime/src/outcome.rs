//! The host's own say on an outcome, whatever module judged it: the entrenched procedure
//! for releasing a clause, and the outcome floors of the entrenched clauses the host can
//! state in numbers (see `docs/design.md`, "Entrenched clauses").

use crate::model::{
    Clause, LockStatus, Proposal, ProposalBody, ProposalState, StakeholderClass, percent,
};
use crate::state::TrustState;

/// Shortest voting window for an amendment that releases an entrenched clause.
pub const PROCEDURE_MIN_WINDOW_DAYS: u64 = 60;

/// Share of each class's yes-or-no votes a releasing amendment needs, as (numerator,
/// denominator).
pub const PROCEDURE_CLASS_THRESHOLD: (u64, u64) = (3, 4);

/// Share of each class's electors who must take part in a releasing amendment.
pub const PROCEDURE_CLASS_TURNOUT: (u64, u64) = (1, 2);

/// The entrenched procedure, checked by the host when a proposal that releases entrenched
/// clauses is closed as passed: in **every** class with electors, at least half of the class
/// took part and at least three quarters of its yes-or-no votes were yes. `Err` explains
/// which class fell short.
pub fn procedure(proposal: &Proposal) -> Result<(), String> {
    let mut shortfalls = Vec::new();
    for class in StakeholderClass::ALL {
        let v = proposal.votes.class(class);
        if v.electorate == 0 {
            continue;
        }
        // Ballots cast in person only: the procedure counts no proxies.
        let (yes, no, abstain) = (u64::from(v.yes), u64::from(v.no), u64::from(v.abstain));
        let n = u64::from(v.electorate);
        let turnout = yes + no + abstain;
        let (tn, td) = PROCEDURE_CLASS_TURNOUT;
        let (an, ad) = PROCEDURE_CLASS_THRESHOLD;
        if turnout * td < n * tn {
            shortfalls.push(format!(
                "{} class: {turnout} of {n} took part, fewer than {tn}/{td}",
                class.name()
            ));
        } else if yes * ad < (yes + no) * an || yes == 0 {
            shortfalls.push(format!(
                "{} class: {yes} of {} yes-or-no votes were yes, fewer than {an}/{ad}",
                class.name(),
                yes + no
            ));
        }
    }
    if shortfalls.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "entrenched procedure: releasing an entrenched clause needs, in every class, a turnout of {}/{} and {}/{} of yes-or-no votes in favour; {}",
            PROCEDURE_CLASS_TURNOUT.0,
            PROCEDURE_CLASS_TURNOUT.1,
            PROCEDURE_CLASS_THRESHOLD.0,
            PROCEDURE_CLASS_THRESHOLD.1,
            shortfalls.join("; ")
        ))
    }
}

/// Share of each class's votes cast (yes and no) that a disposal of a perpetual asset needs
/// while `asset-lock` is entrenched, whatever the bylaws say.
pub const ASSET_LOCK_THRESHOLD: (u64, u64) = (2, 3);

/// Share of the votes cast (yes and no) that an amendment needs while
/// `amendment-supermajority` is entrenched, whatever the bylaws say.
pub const AMENDMENT_THRESHOLD: (u64, u64) = (2, 3);

/// Yes, no and abstain counts, overall or in one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Count {
    electors: u64,
    yes: u64,
    no: u64,
    abstain: u64,
}

impl Count {
    fn cast(&self) -> u64 {
        self.yes + self.no
    }

    /// At least `n/d` of the votes cast were yes (and some vote was cast).
    fn reaches(&self, (n, d): (u64, u64)) -> bool {
        self.cast() > 0 && self.yes * d >= self.cast() * n
    }

    /// `2 of 3 (67%)`, or what stands for it when no yes-or-no vote was cast.
    fn words(&self) -> String {
        match (self.cast(), self.abstain) {
            (0, 0) => "no votes".to_string(),
            (0, a) => format!("no yes-or-no votes ({a} abstained)"),
            (cast, _) => format!("{} of {cast} ({}%)", self.yes, percent(self.yes, cast)),
        }
    }
}

/// The host's own count of a proposal, per class (those with electors) and overall: each
/// elector's own ballot, or, for an elector who did not vote, the ballot of the delegate
/// frozen with the electorate if the delegation lasted until voting closed (as
/// `bylaws_sdk::Tally::with_proxies` counts: no chains), from the count the host keeps
/// (`proposal.votes`, see `roll.rs`).
fn count(proposal: &Proposal) -> (Count, Vec<(StakeholderClass, Count)>) {
    let mut all = Count::default();
    let mut classes = Vec::new();
    for class in StakeholderClass::ALL {
        let v = proposal.votes.class(class);
        if v.electorate == 0 {
            continue;
        }
        let c = Count {
            electors: u64::from(v.electorate),
            yes: u64::from(v.yes) + u64::from(v.proxy_yes),
            no: u64::from(v.no) + u64::from(v.proxy_no),
            abstain: u64::from(v.abstain) + u64::from(v.proxy_abstain),
        };
        all.electors += c.electors;
        all.yes += c.yes;
        all.no += c.no;
        all.abstain += c.abstain;
        classes.push((class, c));
    }
    (all, classes)
}

/// The outcome floors of the entrenched clauses, checked by the host on every proposal that
/// closes as passed (and again when a disposal is executed), whatever module judged it: a
/// clause entrenched when the proposal opened (frozen in its rules) holds for it.
///
/// - `asset-lock`: disposing of an asset that is perpetual now needs at least 2/3 of the
///   votes cast (yes and no) in every class of the frozen electorate;
/// - `amendment-supermajority`: an amendment needs at least 2/3 of the votes cast.
///
/// `one-member-one-vote` has no numeric floor (the host cannot know the outcome a bylaw
/// should give); it is kept by the conformance vectors at founding and at every activation,
/// and by the rules being frozen with each proposal. `Err` says which clause falls short,
/// and by how much.
pub(crate) fn floor(state: &TrustState, p: &ProposalState) -> Result<(), String> {
    let kept = |c: Clause| p.rules.entrenched.contains(&c);
    match &p.proposal.body {
        ProposalBody::DisposeAsset(d)
            if kept(Clause::AssetLock)
                && state
                    .assets
                    .get(&d.asset_id)
                    .is_some_and(|a| a.lock == LockStatus::Perpetual) =>
        {
            let (_, classes) = count(&p.proposal);
            let short: Vec<String> = classes
                .iter()
                .filter(|(_, c)| !c.reaches(ASSET_LOCK_THRESHOLD))
                .map(|(class, c)| {
                    format!(
                        "{} class: {}, needs {}/{}",
                        class.name(),
                        c.words(),
                        ASSET_LOCK_THRESHOLD.0,
                        ASSET_LOCK_THRESHOLD.1
                    )
                })
                .collect();
            if short.is_empty() {
                return Ok(());
            }
            Err(format!(
                "entrenched clause `asset-lock`: disposing of the perpetual asset `{}` needs {}/{} of the votes cast in each class; {}",
                d.asset_id,
                ASSET_LOCK_THRESHOLD.0,
                ASSET_LOCK_THRESHOLD.1,
                short.join("; ")
            ))
        }
        ProposalBody::AmendBylaws(_) if kept(Clause::AmendmentSupermajority) => {
            let (all, _) = count(&p.proposal);
            if all.reaches(AMENDMENT_THRESHOLD) {
                return Ok(());
            }
            Err(format!(
                "entrenched clause `amendment-supermajority`: an amendment needs {}/{} of the votes cast; {}",
                AMENDMENT_THRESHOLD.0,
                AMENDMENT_THRESHOLD.1,
                all.words()
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::MemberKey;
    use crate::model::{Choice, ProposalStatus};
    use crate::roll::{ProposalRoll, Roster, Voter};

    /// An elector: key number, class, and delegate number and until.
    type TestElector = (u8, StakeholderClass, Option<(u8, u64)>);

    /// A proposal closing at 10 with `electors`, counted by the host after `ballots` (key
    /// number, choice).
    fn counted(electors: &[TestElector], ballots: &[(u8, Choice)]) -> Proposal {
        let voters = electors
            .iter()
            .map(|&(k, class, proxy)| Voter {
                key: MemberKey([k; 32]),
                class,
                proxy: proxy.map(|(to, until)| (MemberKey([to; 32]), until)),
            })
            .collect();
        let mut roll = ProposalRoll::new(Roster::new(voters), 10);
        let mut votes = roll.count();
        for &(k, choice) in ballots {
            roll.set(&MemberKey([k; 32]), Some(choice), &mut votes);
        }
        Proposal {
            id: 1,
            body: ProposalBody::Ordinary,
            proposer: vec![0; 32],
            title: String::new(),
            text: String::new(),
            opened_at: 0,
            closes_at: 10,
            status: ProposalStatus::Open,
            votes,
        }
    }

    fn plain(
        ballots: &[(u8, StakeholderClass, Choice)],
        electors: &[(u8, StakeholderClass)],
    ) -> Proposal {
        let electors: Vec<_> = electors.iter().map(|&(k, c)| (k, c, None)).collect();
        let ballots: Vec<_> = ballots.iter().map(|&(k, _, c)| (k, c)).collect();
        counted(&electors, &ballots)
    }

    #[test]
    fn names_round_trip() {
        for c in Clause::ALL {
            assert_eq!(Clause::parse(c.name()), Some(c));
        }
        assert_eq!(Clause::parse("asset lock"), None);
    }

    #[test]
    fn the_procedure_needs_every_class() {
        use StakeholderClass::*;
        let electors = [(1, Resident), (2, Resident), (3, Community), (4, Community)];
        let all_yes = [
            (1, Resident, Choice::Yes),
            (2, Resident, Choice::Yes),
            (3, Community, Choice::Yes),
            (4, Community, Choice::Yes),
        ];
        assert_eq!(procedure(&plain(&all_yes, &electors)), Ok(()));
        // Community turnout is one of two (meets 1/2) but its only vote is no.
        let split = [
            (1, Resident, Choice::Yes),
            (2, Resident, Choice::Yes),
            (3, Community, Choice::No),
        ];
        let err = procedure(&plain(&split, &electors)).unwrap_err();
        assert!(err.contains("community class: 0 of 1"), "{err}");
        // Nobody from the community class voted.
        let absent = [(1, Resident, Choice::Yes), (2, Resident, Choice::Yes)];
        let err = procedure(&plain(&absent, &electors)).unwrap_err();
        assert!(err.contains("community class: 0 of 2 took part"), "{err}");
        // Three of four yes in a class is enough.
        let electors4 = [(1, Public), (2, Public), (3, Public), (4, Public)];
        let three = [
            (1, Public, Choice::Yes),
            (2, Public, Choice::Yes),
            (3, Public, Choice::Yes),
            (4, Public, Choice::No),
        ];
        assert_eq!(procedure(&plain(&three, &electors4)), Ok(()));
        // Proxies do not count towards the procedure.
        let by_proxy = counted(
            &[
                (1, Public, None),
                (2, Public, Some((1, 10))),
                (3, Public, Some((1, 10))),
            ],
            &[(1, Choice::Yes)],
        );
        let err = procedure(&by_proxy).unwrap_err();
        assert!(err.contains("public class: 1 of 3 took part"), "{err}");
    }

    #[test]
    fn the_asset_lock_floor_counts_each_class_and_proxies() {
        use StakeholderClass::*;
        let ballots = [(1, Choice::Yes), (2, Choice::No), (4, Choice::Yes)];
        // Resident 1 of 2: short of 2/3.
        let p = counted(
            &[
                (1, Resident, None),
                (2, Resident, None),
                (3, Resident, None),
                (4, Community, None),
            ],
            &ballots,
        );
        let (_, classes) = count(&p);
        assert!(!classes[0].1.reaches(ASSET_LOCK_THRESHOLD));
        assert_eq!(classes[0].1.words(), "1 of 2 (50%)");
        // Elector 3 delegated to elector 1 until voting closed: the delegate's yes counts.
        let p = counted(
            &[
                (1, Resident, None),
                (2, Resident, None),
                (3, Resident, Some((1, 10))),
                (4, Community, None),
            ],
            &ballots,
        );
        let (all, classes) = count(&p);
        assert_eq!(classes[0].1.words(), "2 of 3 (67%)");
        assert!(classes[0].1.reaches(ASSET_LOCK_THRESHOLD));
        assert_eq!((all.yes, all.no, all.electors), (3, 1, 4));
        // A lapsed delegation does not count.
        let p = counted(
            &[
                (1, Resident, None),
                (2, Resident, None),
                (3, Resident, Some((1, 9))),
                (4, Community, None),
            ],
            &ballots,
        );
        let (all, _) = count(&p);
        assert_eq!((all.yes, all.no), (2, 1));
        // A class that casts no yes-or-no vote falls short.
        let only_abstain = plain(
            &[(4, Community, Choice::Abstain)],
            &[(1, Resident), (4, Community)],
        );
        let (_, classes) = count(&only_abstain);
        assert_eq!(classes[1].1.words(), "no yes-or-no votes (1 abstained)");
        assert!(!classes[1].1.reaches(ASSET_LOCK_THRESHOLD));
    }
}
