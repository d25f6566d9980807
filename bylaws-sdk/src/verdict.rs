//! Building verdicts.

use crate::{Allowance, Decision, Denial, Outcome, Verdict};

/// Allow the action, with no notes.
pub fn allow() -> Verdict {
    Verdict::Allow(Allowance {
        decision: None,
        notes: Vec::new(),
    })
}

/// Allow the action, with a plain-language note on why.
pub fn allow_with_note(note: impl Into<String>) -> Verdict {
    Verdict::Allow(Allowance {
        decision: None,
        notes: vec![note.into()],
    })
}

/// Allow closing a proposal, deciding its `outcome` and explaining the tally.
pub fn decide(outcome: Outcome, explanation: impl Into<String>) -> Verdict {
    Verdict::Allow(Allowance {
        decision: Some(Decision {
            outcome,
            explanation: explanation.into(),
            not_before: None,
            funded: Vec::new(),
        }),
        notes: Vec::new(),
    })
}

/// Allow closing a proposal as passed, with a timelock: the host refuses to execute it
/// before host time `not_before`.
pub fn decide_with_timelock(explanation: impl Into<String>, not_before: u64) -> Verdict {
    Verdict::Allow(Allowance {
        decision: Some(Decision {
            outcome: Outcome::Passed,
            explanation: explanation.into(),
            not_before: Some(not_before),
            funded: Vec::new(),
        }),
        notes: Vec::new(),
    })
}

/// Deny the action: a kebab-case reason `code`, the `clause` that applies and a
/// plain-language `explanation` a member can act on. Bylaws declare their reasons once with
/// [`reasons!`](crate::reasons) and deny with [`Reason::deny`](crate::Reason::deny), so the
/// list of reasons is checked; this is the untyped form underneath.
pub fn deny(code: &str, clause: &str, explanation: impl Into<String>) -> Verdict {
    Verdict::Deny(Denial {
        code: code.to_string(),
        clause: clause.to_string(),
        explanation: explanation.into(),
    })
}

impl Verdict {
    /// True when the verdict allows the action.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow(_))
    }

    /// The denial, if the verdict denies.
    pub fn denial(&self) -> Option<&Denial> {
        match self {
            Verdict::Deny(d) => Some(d),
            Verdict::Allow(_) => None,
        }
    }

    /// The decision, if the verdict allows a close.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Verdict::Allow(a) => a.decision.as_ref(),
            Verdict::Deny(_) => None,
        }
    }
}
