//! # A minimal bylaw
//!
//! The smallest set of rules a trust can run on, and the starting point of
//! `cltd bylaws new --template minimal`:
//!
//! - §1 Members act: only members may propose, register or lock assets.
//! - §2 Ordinary resolutions only: other kinds of proposal are refused, so nothing (no
//!   member, no asset, no data) changes hands until the trust writes a clause for it.
//! - §3 A proposal passes with more yes than no votes among the votes cast; with no yes or
//!   no vote at all it expires.
//! - §4 Only the proposer may withdraw a proposal.

use bylaws_sdk::{
    Action, Bylaw, BylawInfo, CharterReader, Outcome, Parameter, ProposalBody, Reason, Tally,
    Verdict, View, allow, decide,
};

bylaws_sdk::reasons! {
    /// Every reason these bylaws deny an action with (the README's "Rejects when").
    pub enum Why {
        /// §1: someone who is not a member proposes, registers or locks an asset.
        NotAMember = ("not-a-member", "§1 members act"),
        /// §2: a proposal of any kind but an ordinary resolution.
        UnsupportedKind = ("unsupported-kind", "§2 ordinary resolutions only"),
        /// §3: a close names no proposal (the host refuses these first).
        NoProposal = ("no-proposal", "§3 majority"),
        /// §3: a member tries to delegate their vote.
        NoProxyVoting = ("no-proxy-voting", "§3 majority"),
        /// §4: a withdrawal by someone other than the proposer.
        NotTheProposer = ("not-the-proposer", "§4 withdrawal"),
    }
}

/// The minimal bylaw.
pub struct Minimal;

#[cfg(all(target_arch = "wasm32", feature = "export"))]
bylaws_sdk::export_bylaw!(Minimal);

impl Bylaw for Minimal {
    fn evaluate(view: &View, action: &Action) -> Verdict {
        match action {
            Action::Propose(_) | Action::RegisterAsset(_) | Action::LockAsset(_)
                if view.actor_member.is_none() =>
            {
                Why::NotAMember.deny("only members may propose, register or lock assets")
            }
            Action::Propose(draft) => match draft.body {
                ProposalBody::Ordinary => allow(),
                _ => Why::UnsupportedKind.deny(format!(
                        "these bylaws decide ordinary resolutions only; a {} proposal needs a clause of its own",
                        draft.body.kind()
                    ),
                ),
            },
            Action::Close(_) => match &view.proposal {
                Some(p) => {
                    let t = Tally::of(p).all;
                    let counts = format!(
                        "{} yes, {} no, {} abstain of {} electors",
                        t.yes, t.no, t.abstain, t.electorate
                    );
                    if t.yes + t.no == 0 {
                        decide(
                            Outcome::Expired,
                            format!("§3 majority: no yes or no vote was cast; {counts}"),
                        )
                    } else if t.yes > t.no {
                        decide(
                            Outcome::Passed,
                            format!("§3 majority: more yes than no; {counts}"),
                        )
                    } else {
                        decide(
                            Outcome::Rejected,
                            format!("§3 majority: not more yes than no; {counts}"),
                        )
                    }
                }
                None => Why::NoProposal.deny("there is no such proposal"),
            },
            Action::Withdraw(_) => match &view.proposal {
                Some(p) if p.proposer == view.actor => allow(),
                _ => Why::NotTheProposer.deny("only the proposer may withdraw a proposal"),
            },
            Action::Delegate(_) => Why::NoProxyVoting.deny("members vote in person: these bylaws have no proxy voting"),
            Action::Vote(_)
            | Action::Execute(_)
            | Action::RegisterAsset(_)
            | Action::LockAsset(_) => allow(),
            Action::RecordPayment(_) | Action::SubmitProject(_) | Action::Approve(_) => {
                Why::UnsupportedKind.deny(
                    "these bylaws keep no treasury and run no budgeting rounds: that needs clauses of their own",
                )
            }
        }
    }

    fn describe(charter: &[Parameter]) -> BylawInfo {
        // No parameters: any key in the charter is reported as unknown.
        let report = CharterReader::new(charter).finish();
        let summary = vec![
            "§1 only members may propose, register or lock assets".into(),
            "§2 ordinary resolutions only".into(),
            "§3 a proposal passes with more yes than no votes cast".into(),
            "§4 only the proposer may withdraw".into(),
        ];
        BylawInfo::new("minimal", env!("CARGO_PKG_VERSION"), summary, report)
    }
}

#[cfg(test)]
mod tests {
    use bylaws_sdk::testing::Scenario;
    use bylaws_sdk::{Action, Bylaw, StakeholderClass};

    use super::Minimal;

    #[test]
    fn strangers_may_not_propose() {
        let trust = Scenario::new().member(1, StakeholderClass::Resident);
        let view = trust.view(9, &Action::LockAsset("x".into()), None);
        let verdict = Minimal::evaluate(&view, &Action::LockAsset("x".into()));
        bylaws_sdk::testing::denies(&verdict, super::Why::NotAMember);
    }
}
