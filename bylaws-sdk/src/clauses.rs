//! Clauses most bylaws share, each giving its verdict with an explanation that names the
//! clause and the exact numbers: the bounds of a voting window, a quorum, a simple majority,
//! a supermajority with a timelock, and a share to reach in each class.
//!
//! A bylaw passes its own clause names (`"§2 ordinary resolutions"`), shares and durations;
//! the wording stays the same across bylaws, so members learn to read it once.
//!
//! ```
//! use bylaws_sdk::{clauses, Outcome, Ratio, Tally, StakeholderClass, Choice};
//! use bylaws_sdk::testing::proposal_with;
//! let p = proposal_with(
//!     &[(1, StakeholderClass::Worker), (2, StakeholderClass::Worker), (3, StakeholderClass::User)],
//!     &[(1, Choice::Yes), (3, Choice::No)],
//! );
//! let tally = Tally::of(&p.counted());
//! let third = Ratio::new(1, 3).unwrap();
//! assert!(clauses::quorum(&tally, third, "§2", "ordinary").is_none());
//! let half = Ratio::new(1, 2).unwrap();
//! let v = clauses::simple_majority(&tally, half, "§2", "ordinary");
//! assert_eq!(v.decision().unwrap().outcome, Outcome::Rejected);
//! assert!(v.decision().unwrap().explanation.ends_with("1 yes, 1 no, 0 abstain of 3 electors"));
//! ```

pub mod budget;
pub mod commons;

use crate::{
    Applicant, Bound, CharterReader, ClassTally, DAY, Denial, Outcome, Ratio, Reason,
    StakeholderClass, Tally, Verdict, allow, decide, decide_with_timelock, percent,
};

/// How a bylaw decides amendments to itself: the four parameters classic-clt,
/// civic-data-trust and platform-coop each read, and the close they share (a quorum, then a
/// supermajority with a timelock).
///
/// ```
/// use bylaws_sdk::{CharterReader, Parameter, clauses::Amendments};
/// let charter = vec![Parameter { key: "amendment-timelock-days".into(), value: "14".into() }];
/// let mut r = CharterReader::new(&charter);
/// let rules = Amendments::read(&mut r, "§8");
/// assert!(r.finish().is_valid());
/// assert_eq!(rules.timelock_days, 14);
/// assert_eq!(rules, Amendments { timelock_days: 14, ..Amendments::DEFAULT });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amendments {
    /// `amendment-threshold` [2/3]: share of votes cast an amendment needs (at least).
    pub threshold: Ratio,
    /// `amendment-quorum` [1/2]: share of the electorate that must take part.
    pub quorum: Ratio,
    /// `amendment-min-window-days` [30]: the shortest window (notice) for an amendment.
    pub min_window_days: u64,
    /// `amendment-timelock-days` [7]: the wait between passing and executing it.
    pub timelock_days: u64,
}

impl Amendments {
    /// Two thirds of votes cast, a quorum of half, 30 days' notice, a 7-day timelock.
    pub const DEFAULT: Amendments = Amendments {
        threshold: Ratio::of(2, 3),
        quorum: Ratio::of(1, 2),
        min_window_days: 30,
        timelock_days: 7,
    };

    /// Read (and declare) the four parameters, described as the bylaw's `section`
    /// (`"§8"`). Windows and timelocks run to ten years, the host's limit on a window.
    pub fn read(r: &mut CharterReader<'_>, section: &str) -> Amendments {
        let d = Amendments::DEFAULT;
        Amendments {
            threshold: r.ratio(
                "amendment-threshold",
                d.threshold,
                Bound::AtLeast(Ratio::of(1, 2)),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} share of votes cast an amendment needs"),
            ),
            quorum: r.ratio(
                "amendment-quorum",
                d.quorum,
                Bound::Above(Ratio::ZERO),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} share of the electorate that must take part in an amendment"),
            ),
            min_window_days: r.days(
                "amendment-min-window-days",
                d.min_window_days,
                1,
                3_650,
                &format!("{section} shortest voting window (notice) for an amendment"),
            ),
            timelock_days: r.days(
                "amendment-timelock-days",
                d.timelock_days,
                0,
                3_650,
                &format!("{section} wait between passing and executing an amendment"),
            ),
        }
    }

    /// Close an amendment under `clause` (`"§8 amendments"`): expired below the quorum,
    /// else passed with the timelock from `now` if it reaches the threshold, else rejected.
    pub fn close(&self, tally: &Tally, clause: &str, now: u64) -> Verdict {
        let kind = "amend-bylaws";
        quorum(tally, self.quorum, clause, kind).unwrap_or_else(|| {
            supermajority_with_timelock(
                tally,
                self.threshold,
                clause,
                kind,
                self.timelock_days,
                now,
            )
        })
    }

    /// The rule in words, for a bylaw's summary.
    pub fn summary(&self, section: &str) -> String {
        format!(
            "{section} amendments: at least {} of votes cast, quorum {} of the electorate, window at least {} days, executed after a timelock of {} days",
            self.threshold, self.quorum, self.min_window_days, self.timelock_days
        )
    }
}

/// A duration in days (and hours, when not whole days).
pub fn duration_text(seconds: u64) -> String {
    if seconds.is_multiple_of(DAY) {
        format!("{} days", seconds / DAY)
    } else {
        format!("{} days {} hours", seconds / DAY, seconds % DAY / 3600)
    }
}

/// The tally in words: `3 yes, 1 no, 0 abstain of 6 electors`, and how many of those votes
/// came by proxy when any did.
pub fn counts(tally: &Tally) -> String {
    let all = tally.all;
    let mut text = format!(
        "{} yes, {} no, {} abstain of {} electors",
        all.yes, all.no, all.abstain, all.electorate
    );
    if tally.by_proxy > 0 {
        text.push_str(&format!(" ({} by proxy)", tally.by_proxy));
    }
    text
}

/// The yes votes of a count among its votes cast, for explanations: `2 of 3 (67%)`, or
/// `no yes-or-no votes (1 abstained)` when nobody voted yes or no.
pub fn yes_of_cast(t: &ClassTally) -> String {
    match (t.cast(), t.abstain) {
        (0, 0) => "no votes".to_string(),
        (0, abstain) => format!("no yes-or-no votes ({abstain} abstained)"),
        (cast, _) => format!("{} of {cast} ({}%)", t.yes, percent(t.yes, cast)),
    }
}

/// Deny a voting `window` (seconds) shorter than `min_days` (for reason `too_short`,
/// conventionally `window-too-short` under the clause setting that minimum) or longer than
/// the larger of `max_days` and `min_days` (`too_long`, conventionally `window-too-long`).
/// `kind` names the proposal (`dispose-asset`).
pub fn voting_window<R: Reason>(
    window: u64,
    kind: &str,
    min_days: u64,
    too_short: R,
    max_days: u64,
    too_long: R,
) -> Option<Verdict> {
    if window < min_days.saturating_mul(DAY) {
        return Some(too_short.deny(format!(
            "{kind} needs a voting window of at least {min_days} days; this one is {}",
            duration_text(window)
        )));
    }
    // A proposal whose minimum exceeds the general maximum (an amendment's notice period)
    // may run to its minimum.
    let max_days = max_days.max(min_days);
    if window > max_days.saturating_mul(DAY) {
        return Some(too_long.deny(format!(
            "voting windows last at most {max_days} days; this one is {}",
            duration_text(window)
        )));
    }
    None
}

/// Deny an access grant lasting no time at all (reason `too_short`, conventionally
/// `grant-too-short`) or longer than `max_days` (`too_long`, conventionally
/// `grant-too-long`); `duration` is in seconds.
pub fn grant_duration<R: Reason>(
    duration: u64,
    max_days: u64,
    too_short: R,
    too_long: R,
) -> Option<Verdict> {
    if duration == 0 {
        return Some(too_short.deny(format!(
            "an access grant must last some time, at most {max_days} days; this one lasts no time at all"
        )));
    }
    if duration > max_days.saturating_mul(DAY) {
        return Some(too_long.deny(format!(
            "an access grant must expire within {max_days} days; this one lasts {}",
            duration_text(duration)
        )));
    }
    None
}

/// Expire the proposal if fewer than `quorum` of the electorate took part (abstentions
/// count towards quorum); `None` when the quorum is met.
pub fn quorum(tally: &Tally, quorum: Ratio, clause: &str, kind: &str) -> Option<Verdict> {
    let all = tally.all;
    if quorum.is_met_by(all.turnout(), all.electorate) {
        return None;
    }
    Some(decide(
        Outcome::Expired,
        format!(
            "{clause}: {kind} needs a quorum of {quorum} of the electorate; {} of {} took part ({}%){}",
            all.turnout(),
            all.electorate,
            percent(all.turnout(), all.electorate),
            proxies(tally)
        ),
    ))
}

fn proxies(tally: &Tally) -> String {
    if tally.by_proxy > 0 {
        format!(", {} by proxy", tally.by_proxy)
    } else {
        String::new()
    }
}

/// Pass if more than `majority` of the votes cast (yes and no) are yes; reject otherwise.
pub fn simple_majority(tally: &Tally, majority: Ratio, clause: &str, kind: &str) -> Verdict {
    let all = tally.all;
    if majority.is_exceeded_by(all.yes, all.cast()) {
        decide(
            Outcome::Passed,
            format!(
                "{clause}: more than {majority} of votes cast in favour; {}",
                counts(tally)
            ),
        )
    } else {
        decide(
            Outcome::Rejected,
            format!(
                "{clause}: {kind} needs more than {majority} of votes cast in favour; {}",
                counts(tally)
            ),
        )
    }
}

/// Pass, executable `timelock_days` after `now`, if at least `threshold` of the votes cast
/// are yes; reject otherwise.
pub fn supermajority_with_timelock(
    tally: &Tally,
    threshold: Ratio,
    clause: &str,
    kind: &str,
    timelock_days: u64,
    now: u64,
) -> Verdict {
    let all = tally.all;
    if !threshold.is_met_by(all.yes, all.cast()) {
        return decide(
            Outcome::Rejected,
            format!(
                "{clause}: {kind} needs at least {threshold} of votes cast in favour; {} of {} ({}%); {}",
                all.yes,
                all.cast(),
                percent(all.yes, all.cast()),
                counts(tally)
            ),
        );
    }
    let passed = format!(
        "{clause}: at least {threshold} of votes cast in favour ({}%); {}",
        percent(all.yes, all.cast()),
        counts(tally)
    );
    if timelock_days == 0 {
        return decide(Outcome::Passed, passed);
    }
    decide_with_timelock(
        format!("{passed}; executable after a timelock of {timelock_days} days"),
        now.saturating_add(timelock_days.saturating_mul(DAY)),
    )
}

/// How a share of votes is to be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// At least the share.
    AtLeast,
    /// Strictly more than the share.
    MoreThan,
}

/// Pass if in each of `classes` the yes votes reach `share` of the class's votes cast (a
/// class that casts no yes-or-no vote does not reach it); reject, naming the classes that
/// fell short, otherwise.
pub fn in_each_class(
    tally: &Tally,
    classes: &[StakeholderClass],
    share: Ratio,
    reach: Reach,
    clause: &str,
    kind: &str,
) -> Verdict {
    let reached = |t: &ClassTally| match reach {
        Reach::AtLeast => share.is_met_by(t.yes, t.cast()),
        Reach::MoreThan => share.is_exceeded_by(t.yes, t.cast()),
    };
    let need = match reach {
        Reach::AtLeast => format!("{share}"),
        Reach::MoreThan => format!("more than {share}"),
    };
    let line = |class: StakeholderClass| {
        format!(
            "{} class: {}",
            class.name(),
            yes_of_cast(tally.class(class))
        )
    };
    let short: Vec<String> = classes
        .iter()
        .filter(|c| !reached(tally.class(**c)))
        .map(|c| format!("{}, needs {need}", line(*c)))
        .collect();
    if short.is_empty() {
        let all: Vec<String> = classes.iter().map(|c| line(*c)).collect();
        decide(
            Outcome::Passed,
            format!(
                "{clause}: {need} of votes cast reached in each class; {}; {}",
                all.join("; "),
                counts(tally)
            ),
        )
    } else {
        decide(
            Outcome::Rejected,
            format!(
                "{clause}: {kind} needs {need} of votes cast in each class; {}",
                short.join("; ")
            ),
        )
    }
}

/// An `admit-members` list judged applicant by applicant: the first refusal of
/// `admissible` (the bylaw's rule for one applicant, `None` when they may be admitted), its
/// explanation prefixed with which applicant it is; allowed when every one is admissible.
/// The host has already refused lists that are empty, too long, repeat a key or name a
/// member, so `admissible` judges what the bylaw decides: classes, names.
///
/// ```
/// use bylaws_sdk::{clauses, deny, Applicant, StakeholderClass};
/// let list = vec![
///     Applicant { key: vec![1; 32], name: "Ada".into(), class: StakeholderClass::Resident },
///     Applicant { key: vec![2; 32], name: "Bo".into(), class: StakeholderClass::Worker },
/// ];
/// let v = clauses::each_applicant(&list, |a| {
///     (a.class != StakeholderClass::Resident).then(|| deny("class-not-admitted", "§3", "residents only"))
/// });
/// assert_eq!(v.denial().unwrap().explanation, "applicant 2 of 2 (Bo): residents only");
/// ```
pub fn each_applicant(
    list: &[Applicant],
    admissible: impl Fn(&Applicant) -> Option<Verdict>,
) -> Verdict {
    for (i, a) in list.iter().enumerate() {
        match admissible(a) {
            Some(Verdict::Deny(d)) => {
                return Verdict::Deny(Denial {
                    explanation: format!(
                        "applicant {} of {} ({}): {}",
                        i + 1,
                        list.len(),
                        a.name,
                        d.explanation
                    ),
                    ..d
                });
            }
            Some(Verdict::Allow(_)) | None => {}
        }
    }
    allow()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Choice;
    use crate::testing::proposal_with;
    use StakeholderClass::{Community, Resident};

    #[test]
    fn per_class_shares_give_exact_fractions_and_round_to_the_nearest_whole() {
        // Residents 2 of 3 (67%, reaching 2/3); the community only abstains.
        let p = proposal_with(
            &[
                (1, Resident),
                (2, Resident),
                (3, Resident),
                (4, Community),
                (5, Community),
            ],
            &[
                (1, Choice::Yes),
                (2, Choice::Yes),
                (3, Choice::No),
                (4, Choice::Abstain),
            ],
        );
        let v = in_each_class(
            &Tally::of(&p.counted()),
            &[Resident, Community],
            Ratio::of(2, 3),
            Reach::AtLeast,
            "§5 asset lock",
            "dispose-asset",
        );
        let d = v.decision().unwrap();
        assert_eq!(d.outcome, Outcome::Rejected);
        assert_eq!(
            d.explanation,
            "§5 asset lock: dispose-asset needs 2/3 of votes cast in each class; community class: no yes-or-no votes (1 abstained), needs 2/3"
        );
        assert_eq!(
            yes_of_cast(Tally::of(&p.counted()).class(Resident)),
            "2 of 3 (67%)"
        );
    }

    crate::reasons! {
        /// Test reasons.
        enum Why {
            /// Too short.
            Short = ("grant-too-short", "§6"),
            /// Too long.
            Long = ("grant-too-long", "§6"),
            /// Window too short.
            Brief = ("window-too-short", "§5 asset lock"),
            /// Window too long.
            Lengthy = ("window-too-long", "§2"),
        }
    }

    #[test]
    fn a_voting_window_is_neither_too_short_nor_too_long() {
        let w = |days| {
            voting_window(
                days * DAY,
                "dispose-asset",
                30,
                Why::Brief,
                60,
                Why::Lengthy,
            )
        };
        crate::testing::denies(&w(29).unwrap(), Why::Brief);
        assert_eq!(w(30), None);
        assert_eq!(w(60), None);
        let v = w(61).unwrap();
        let d = crate::testing::denies(&v, Why::Lengthy);
        assert!(
            d.explanation
                .starts_with("voting windows last at most 60 days"),
            "{d:?}"
        );
        // A minimum above the general maximum lets the window run to the minimum.
        assert_eq!(
            voting_window(90 * DAY, "amend-bylaws", 90, Why::Brief, 60, Why::Lengthy),
            None
        );
    }

    #[test]
    fn a_grant_lasts_some_time_and_not_too_long() {
        let code = |d| {
            grant_duration(d, 365, Why::Short, Why::Long).map(|v| v.denial().unwrap().code.clone())
        };
        assert_eq!(code(0).as_deref(), Some("grant-too-short"));
        assert_eq!(code(DAY), None);
        assert_eq!(code(366 * DAY).as_deref(), Some("grant-too-long"));
        let v = grant_duration(0, 365, Why::Short, Why::Long).unwrap();
        assert!(
            v.denial()
                .unwrap()
                .explanation
                .contains("this one lasts no time at all"),
            "{v:?}"
        );
    }
}
