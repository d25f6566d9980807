//! A native test kit: build the [`View`]s the host would pass, without Wasm.
//!
//! ```
//! use bylaws_sdk::testing::Scenario;
//! use bylaws_sdk::{Action, StakeholderClass, AssetKind, LockStatus};
//! let trust = Scenario::new()
//!     .member(1, StakeholderClass::Resident)
//!     .asset("census", AssetKind::Dataset, LockStatus::Perpetual);
//! let view = trust.view(1, &Action::LockAsset("census".into()), None);
//! assert!(view.actor_member.is_some());
//! assert!(view.asset.is_some());
//! ```

use crate::{
    Action, ActionKind, Asset, AssetKind, Ballot, Choice, ClassCounts, Denial, Elector,
    ElectorProxy, LockStatus, Member, Parameter, Proposal, ProposalBody, ProposalDraft,
    ProposalStatus, Reason, Roll, Round, StakeholderClass, Verdict, View, Votes,
};

/// Assert that `verdict` allows the action; a failure shows the denial's code, clause and
/// explanation.
#[track_caller]
pub fn allows(verdict: &Verdict) {
    if let Some(d) = verdict.denial() {
        panic!(
            "expected allowed, got denied [{}] under {}: {}",
            d.code, d.clause, d.explanation
        );
    }
}

/// What [`denies`] expects: a reason code (`"not-a-member"`), or a declared [`Reason`],
/// whose code and clause must both match.
pub trait Expected {
    /// Whether `denial` is the one expected.
    fn matches(&self, denial: &Denial) -> bool;
    /// The expectation, for a failure message.
    fn describe(&self) -> String;
}

impl Expected for &str {
    fn matches(&self, denial: &Denial) -> bool {
        denial.code == *self
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl<R: Reason> Expected for R {
    fn matches(&self, denial: &Denial) -> bool {
        denial.code == self.code() && denial.clause == self.clause()
    }
    fn describe(&self) -> String {
        format!("{}] under [{}", self.code(), self.clause())
    }
}

/// Assert that `verdict` denies the action for the `expected` reason (a code, or a declared
/// [`Reason`]), and return the denial (for checks of its explanation).
#[track_caller]
pub fn denies(verdict: &Verdict, expected: impl Expected) -> &Denial {
    let want = expected.describe();
    match verdict.denial() {
        Some(d) if expected.matches(d) => d,
        Some(d) => panic!(
            "expected denied [{want}], got denied [{}] under {}: {}",
            d.code, d.clause, d.explanation
        ),
        None => panic!("expected denied [{want}], got allowed"),
    }
}

/// A deterministic 32-byte test key numbered `n`.
pub fn key(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// The same key as a proposal's roll carries it ([`crate::RollKey`]).
pub fn elector_key(n: u8) -> crate::RollKey {
    crate::roll_key(&[n; 32]).expect("32 bytes")
}

/// A trust's state, as far as a bylaw can see it, built up for a test.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// The trust id the views carry (hex).
    pub trust_id: String,
    /// The trust name the views carry.
    pub trust_name: String,
    /// Charter parameters.
    pub charter: Vec<Parameter>,
    /// Host time of the next action.
    pub now: u64,
    /// Current members.
    pub members: Vec<Member>,
    /// Assets held in trust.
    pub assets: Vec<Asset>,
    /// Kinds of action whose views carry the proposal's roll (what the bylaw under test
    /// declares with [`crate::BylawInfo::needs_roll`]; none by default, as the host does).
    pub roll_for: Vec<ActionKind>,
    /// The budgeting round every view carries (as the host passes it with actions on a
    /// `budget-round` proposal).
    pub round: Option<Round>,
    /// The fee schedule in force.
    pub fees: Vec<Parameter>,
}

/// A proposal in a test: what the bylaw is shown of it, and its frozen electorate and
/// ballots. The host's count (`proposal.votes`) is made from them whenever a view is (see
/// [`Poll::counted`]), as the host keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// The proposal (its `votes` are recounted from the roll in every view).
    pub proposal: Proposal,
    /// Its electorate (a key listed twice counts once).
    pub electorate: Vec<Elector>,
    /// Ballots cast in person, in the order cast (an elector's first counts).
    pub ballots: Vec<Ballot>,
}

impl Poll {
    /// Its roll, as the host passes it in `view.roll`.
    pub fn roll(&self) -> Roll {
        Roll::new(&self.electorate, &self.ballots)
    }

    /// The proposal with the host's count of its roll, as a view carries it.
    pub fn counted(&self) -> Proposal {
        let mut p = self.proposal.clone();
        p.votes = Votes::of_roll(&self.roll(), p.closes_at);
        p
    }
}

impl Scenario {
    /// An empty trust at time 1,700,000,000.
    pub fn new() -> Self {
        Scenario {
            trust_id: "00".repeat(32),
            trust_name: "test trust".into(),
            now: 1_700_000_000,
            ..Scenario::default()
        }
    }

    /// Set a charter parameter.
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.charter.push(Parameter {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Add member number `n` of `class`.
    pub fn member(mut self, n: u8, class: StakeholderClass) -> Self {
        self.members.push(Member {
            key: key(n),
            name: format!("member-{n}"),
            class,
            admitted_at: self.now,
            proxy: None,
            roles: Vec::new(),
        });
        self
    }

    /// Give member number `n` a role (e.g. `treasurer`).
    pub fn role(mut self, n: u8, role: &str) -> Self {
        let k = key(n);
        if let Some(m) = self.members.iter_mut().find(|m| m.key == k) {
            m.roles.push(role.into());
            m.roles.sort();
        }
        self
    }

    /// Set the fee schedule in force.
    pub fn fee(mut self, key: &str, minor_units: u64) -> Self {
        self.fees.push(Parameter {
            key: key.into(),
            value: minor_units.to_string(),
        });
        self
    }

    /// Add a member with an explicit `key` and `name`.
    pub fn member_with_key(mut self, key: Vec<u8>, name: &str, class: StakeholderClass) -> Self {
        self.members.push(Member {
            key,
            name: name.into(),
            class,
            admitted_at: self.now,
            proxy: None,
            roles: Vec::new(),
        });
        self
    }

    /// Add an asset with a description.
    pub fn described_asset(
        mut self,
        id: &str,
        kind: AssetKind,
        lock: LockStatus,
        description: &str,
    ) -> Self {
        self.assets.push(Asset {
            id: id.into(),
            kind,
            lock,
            description: description.into(),
            fields: Vec::new(),
        });
        self
    }

    /// Add members numbered `from..=to`, all of `class`.
    pub fn members(mut self, from: u8, to: u8, class: StakeholderClass) -> Self {
        for n in from..=to {
            self = self.member(n, class);
        }
        self
    }

    /// Add an asset.
    pub fn asset(mut self, id: &str, kind: AssetKind, lock: LockStatus) -> Self {
        self.assets.push(Asset {
            id: id.into(),
            kind,
            lock,
            description: String::new(),
            fields: Vec::new(),
        });
        self
    }

    /// Move the clock to `now`.
    pub fn at(mut self, now: u64) -> Self {
        self.now = now;
        self
    }

    /// Views of these kinds of action carry the proposal's roll.
    pub fn roll_for(mut self, kinds: &[ActionKind]) -> Self {
        self.roll_for = kinds.to_vec();
        self
    }

    /// Open `draft` as proposal `id` by member `proposer`, freezing the current electorate.
    pub fn open(&self, id: u64, proposer: u8, draft: &ProposalDraft) -> Poll {
        let mut electorate: Vec<Elector> = self
            .members
            .iter()
            .map(|m| Elector {
                key: crate::roll_key(&m.key).expect("a test member's key is 32 bytes"),
                class: m.class,
                proxy: m
                    .proxy
                    .as_ref()
                    .filter(|p| p.until > self.now)
                    .map(|p| ElectorProxy {
                        delegate: crate::roll_key(&p.delegate).expect("a 32-byte delegate"),
                        until: p.until,
                    }),
            })
            .collect();
        electorate.sort_by_key(|e| e.key);
        Poll {
            proposal: Proposal {
                id,
                body: draft.body.clone(),
                proposer: key(proposer),
                title: draft.title.clone(),
                text: draft.text.clone(),
                opened_at: self.now,
                closes_at: self.now.saturating_add(draft.window),
                status: ProposalStatus::Open,
                votes: Votes::default(),
            },
            electorate,
            ballots: Vec::new(),
        }
    }

    /// The view the host would pass when `actor` takes `action` (with `poll` being the
    /// proposal the action refers to, if any).
    pub fn view(&self, actor: u8, action: &Action, poll: Option<&Poll>) -> View {
        self.view_as(&key(actor), action, poll)
    }

    /// The view the host would pass when the key `actor` takes `action`.
    pub fn view_as(&self, actor: &[u8], action: &Action, poll: Option<&Poll>) -> View {
        let proposal = poll.map(Poll::counted);
        let roll = poll
            .filter(|_| self.roll_for.contains(&action.kind()))
            .map(Poll::roll);
        let proposal = proposal.as_ref();
        let body = match action {
            Action::Propose(d) => Some(&d.body),
            _ => proposal.map(|p| &p.body),
        };
        let asset_id = match (action, body) {
            (Action::RegisterAsset(a), _) => Some(a.id.as_str()),
            (Action::LockAsset(id), _) => Some(id.as_str()),
            (_, Some(ProposalBody::DisposeAsset(d))) => Some(d.asset_id.as_str()),
            (_, Some(ProposalBody::GrantAccess(g))) => Some(g.asset_id.as_str()),
            (_, Some(ProposalBody::License(l))) => Some(l.asset_id.as_str()),
            _ => None,
        };
        let subject_key = match (action, body) {
            (Action::Delegate(d), _) => d.delegate.as_ref(),
            (_, Some(ProposalBody::AdmitMember(a))) => Some(&a.key),
            (_, Some(ProposalBody::RemoveMember(k))) => Some(k),
            (_, Some(ProposalBody::GrantAccess(g))) => Some(&g.grantee),
            _ => None,
        };
        let count = |c| {
            u32::try_from(self.members.iter().filter(|m| m.class == c).count())
                .expect("few members")
        };
        View {
            trust_id: self.trust_id.clone(),
            trust_name: self.trust_name.clone(),
            charter: self.charter.clone(),
            now: self.now,
            actor: actor.to_vec(),
            actor_member: self.members.iter().find(|m| m.key == actor).cloned(),
            members: ClassCounts {
                resident: count(StakeholderClass::Resident),
                community: count(StakeholderClass::Community),
                public: count(StakeholderClass::Public),
                worker: count(StakeholderClass::Worker),
                user: count(StakeholderClass::User),
                data_ethics_council: count(StakeholderClass::DataEthicsCouncil),
            },
            proposal: proposal.cloned(),
            roll,
            asset: asset_id.and_then(|id| self.assets.iter().find(|a| a.id == id).cloned()),
            subject: subject_key.and_then(|k| self.members.iter().find(|m| &m.key == k).cloned()),
            round: self.round.clone(),
            fees: self.fees.clone(),
        }
    }
}

/// A proposal with the given electorate `(key number, class)` and ballots
/// `(key number, choice)`, for tally tests.
pub fn proposal_with(electors: &[(u8, StakeholderClass)], ballots: &[(u8, Choice)]) -> Poll {
    Poll {
        proposal: Proposal {
            id: 1,
            body: ProposalBody::Ordinary,
            proposer: key(electors.first().map_or(0, |e| e.0)),
            title: String::new(),
            text: String::new(),
            opened_at: 0,
            closes_at: 0,
            status: ProposalStatus::Open,
            votes: Votes::default(),
        },
        electorate: electors
            .iter()
            .map(|&(n, class)| Elector {
                key: elector_key(n),
                class,
                proxy: None,
            })
            .collect(),
        ballots: ballots
            .iter()
            .map(|&(n, choice)| Ballot {
                voter: elector_key(n),
                choice,
            })
            .collect(),
    }
}

/// Cast `choice` for each member number in `voters` on `poll`.
pub fn cast(poll: &mut Poll, voters: impl IntoIterator<Item = u8>, choice: Choice) {
    for n in voters {
        poll.ballots.push(Ballot {
            voter: elector_key(n),
            choice,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{allows, denies};
    use crate::{Reason, allow, deny};

    #[test]
    fn allows_and_denies_pass_on_what_they_expect() {
        allows(&allow());
        let v = deny("too-late", "§2", "closed");
        assert_eq!(denies(&v, "too-late").clause, "§2");
    }

    #[test]
    #[should_panic(expected = "expected allowed, got denied [too-late] under §2: closed")]
    fn allows_says_what_was_denied() {
        allows(&deny("too-late", "§2", "closed"));
    }

    #[test]
    #[should_panic(expected = "expected denied [too-late], got denied [other]")]
    fn denies_says_which_reason_came_instead() {
        denies(&deny("other", "§3", "no"), "too-late");
    }

    crate::reasons! {
        /// Test reasons.
        enum Why {
            /// Late.
            Late = ("too-late", "§2"),
            /// Late, under another clause.
            LateForALock = ("too-late", "§5"),
        }
    }

    #[test]
    fn denies_a_typed_reason_by_code_and_clause() {
        let v = Why::Late.deny("closed");
        assert_eq!(denies(&v, Why::Late).explanation, "closed");
        assert_eq!(denies(&v, "too-late").clause, "§2");
    }

    #[test]
    #[should_panic(
        expected = "expected denied [too-late] under [§5], got denied [too-late] under §2"
    )]
    fn denies_a_typed_reason_checks_the_clause() {
        denies(&Why::Late.deny("closed"), Why::LateForALock);
    }

    #[test]
    #[should_panic(expected = "expected denied [too-late], got allowed")]
    fn denies_fails_on_an_allowance() {
        denies(&allow(), "too-late");
    }
}
