//! # reasoned-clt
//!
//! The classic community land trust's bylaws (`classic-clt`, §1–§8) plus one clause:
//!
//! - §9 Reasons: every proposal must state its reasons (a non-empty text), so members can
//!   judge it. Denied with code `missing-reasons`.
//!
//! Its `migrate` adopts the proposed charter and records `reasons-required=yes` in it. It
//! refuses to take over from a charter in force that says `reasons-required=no` (the members
//! resolved not to require reasons, which this bylaw cannot honour). For cltd's tests, a
//! proposed charter with `migrate=trap` makes it trap. Either way the activation must be
//! abandoned.

use bylaws_sdk::{
    Action, Bylaw, BylawInfo, Charter, CharterReader, Parameter, Verdict, View, deny,
};

/// classic-clt with a duty to give reasons.
pub struct ReasonedClt;

#[cfg(target_arch = "wasm32")]
bylaws_sdk::export_bylaw!(ReasonedClt);

/// classic-clt's parameters and this bylaw's own.
fn read(r: &mut CharterReader<'_>) -> classic_clt::Params {
    let params = classic_clt::Params::read(r);
    r.one_of(
        "reasons-required",
        "yes",
        &["yes", "no"],
        "§9 whether proposals must state their reasons (this bylaw always requires them)",
    );
    r.one_of(
        "migrate",
        "adopt",
        &["adopt", "trap"],
        "for cltd's tests: `trap` makes migrate trap",
    );
    params
}

impl Bylaw for ReasonedClt {
    fn evaluate(view: &View, action: &Action) -> Verdict {
        let params = match CharterReader::check(&view.charter, read) {
            Ok(p) => p,
            Err(report) => return deny("bad-charter", "charter", report.to_string()),
        };
        if let Action::Propose(draft) = action
            && draft.text.trim().is_empty()
        {
            return deny(
                "missing-reasons",
                "§9 reasons",
                "every proposal must state its reasons in its text",
            );
        }
        classic_clt::judge(&params, view, action)
    }

    fn describe(charter: &[Parameter]) -> BylawInfo {
        let (params, report) = CharterReader::describe(charter, read);
        let mut summary = classic_clt::summary(&params);
        summary.push("§9 every proposal must state its reasons".into());
        BylawInfo::new("reasoned-clt", env!("CARGO_PKG_VERSION"), summary, report)
    }

    fn migrate(previous: &[Parameter], proposed: &[Parameter]) -> Result<Vec<Parameter>, String> {
        if Charter::new(proposed).get("migrate") == Some("trap") {
            panic!("the proposed charter asks migrate to trap");
        }
        if Charter::new(previous).get("reasons-required") == Some("no") {
            return Err(
                "the charter in force says reasons-required=no; reasoned-clt cannot honour it"
                    .into(),
            );
        }
        let mut charter: Vec<Parameter> = proposed.to_vec();
        if !charter.iter().any(|p| p.key == "reasons-required") {
            charter.push(Parameter {
                key: "reasons-required".into(),
                value: "yes".into(),
            });
        }
        Ok(charter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bylaws_sdk::testing::Scenario;
    use bylaws_sdk::{ProposalBody, ProposalDraft, StakeholderClass};

    fn draft(text: &str) -> Action {
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "t".into(),
            text: text.into(),
            window: 7 * bylaws_sdk::DAY,
        })
    }

    #[test]
    fn proposals_must_give_reasons_and_otherwise_follow_classic() {
        let s = Scenario::new().members(1, 3, StakeholderClass::Resident);
        let denied = ReasonedClt::evaluate(&s.view(1, &draft(" "), None), &draft(" "));
        assert_eq!(denied.denial().unwrap().code, "missing-reasons");
        let action = draft("because");
        assert!(ReasonedClt::evaluate(&s.view(1, &action, None), &action).is_allowed());
        // Classic rules still apply: non-members may not propose.
        assert!(!ReasonedClt::evaluate(&s.view(9, &action, None), &action).is_allowed());
    }

    #[test]
    fn migrate_records_the_clause_and_can_be_told_to_fail() {
        let p = |k: &str, v: &str| Parameter {
            key: k.into(),
            value: v.into(),
        };
        let out = ReasonedClt::migrate(&[], &[p("ordinary-quorum", "1/4")]).unwrap();
        assert_eq!(
            out,
            vec![p("ordinary-quorum", "1/4"), p("reasons-required", "yes")]
        );
        let refused = ReasonedClt::migrate(&[p("reasons-required", "no")], &[]).unwrap_err();
        assert!(refused.contains("reasons-required=no"), "{refused}");
    }
}
