//! Typed access to a trust's charter parameters, and the report a bylaw gives of a charter.
//!
//! A bylaw reads its parameters with a [`CharterReader`]: each read declares the parameter
//! (its key, the values it accepts, its default, what it governs) and checks the value
//! found, so the list a bylaw publishes in `describe` and the values it accepts cannot
//! drift apart. The reader collects every problem (an unknown key, a value it cannot parse,
//! a value out of range) instead of stopping at the first, so a member founding a trust or
//! drafting an amendment sees them all at once.
//!
//! ```
//! use bylaws_sdk::{Bound, CharterReader, Parameter, Ratio};
//! let params = vec![
//!     Parameter { key: "quorum".into(), value: "0/1".into() },
//!     Parameter { key: "quorom".into(), value: "1/3".into() },
//! ];
//! let mut r = CharterReader::describing(&params);
//! let quorum = r.ratio("quorum", Ratio::of(1, 3), Bound::Above(Ratio::ZERO), Bound::AtMost(Ratio::ONE), "share of the electorate that must take part");
//! let report = r.finish();
//! assert_eq!(quorum, Ratio::of(1, 3)); // the default stands in for a bad value
//! assert_eq!(report.problems.len(), 2);
//! assert_eq!(report.problems[0].key, "quorum");
//! assert!(report.problems[1].problem.contains("unknown parameter"));
//! assert_eq!(report.parameters[0].accepts, "a ratio N/D above 0, at most 1");
//! ```

use std::cmp::Ordering;
use std::fmt;

use crate::{CharterProblem, Parameter, ParameterSpec, Ratio};

/// A read-only view of charter parameters with typed getters and defaults. It neither
/// declares nor range-checks what it reads: bylaws use [`CharterReader`] for that.
///
/// ```
/// use bylaws_sdk::{Charter, Parameter, Ratio};
/// let params = vec![Parameter { key: "quorum".into(), value: "1/3".into() }];
/// let charter = Charter::new(&params);
/// assert_eq!(charter.ratio("quorum", Ratio::new(1, 2).unwrap()).unwrap(), Ratio::new(1, 3).unwrap());
/// assert_eq!(charter.days("window-days", 14).unwrap(), 14);
/// assert_eq!(charter.list("purposes", &["research"]), vec!["research".to_string()]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Charter<'a> {
    params: &'a [Parameter],
}

/// A charter parameter that is present but malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharterError {
    /// The parameter's key.
    pub key: String,
    /// The value found.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

impl fmt::Display for CharterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "charter parameter `{}` = `{}` is not {}",
            self.key, self.value, self.expected
        )
    }
}

impl std::error::Error for CharterError {}

impl<'a> Charter<'a> {
    /// Wrap the charter's parameters.
    pub fn new(params: &'a [Parameter]) -> Self {
        Charter { params }
    }

    /// The raw value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// A ratio parameter (`N/D`), or `default` when absent.
    pub fn ratio(&self, key: &str, default: Ratio) -> Result<Ratio, CharterError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => Ratio::parse(v).map_err(|_| self.error(key, v, "a ratio N/D of at most 1")),
        }
    }

    /// A whole number of days, or `default` when absent.
    pub fn days(&self, key: &str, default: u64) -> Result<u64, CharterError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| self.error(key, v, "a whole number of days")),
        }
    }

    /// A comma-separated list of names (trimmed, empty items dropped), or `default` when
    /// absent.
    pub fn list(&self, key: &str, default: &[&str]) -> Vec<String> {
        match self.get(key) {
            None => default.iter().map(|s| s.to_string()).collect(),
            Some(v) => split_list(v),
        }
    }

    fn error(&self, key: &str, value: &str, expected: &'static str) -> CharterError {
        CharterError {
            key: key.to_string(),
            value: value.to_string(),
            expected,
        }
    }
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One end of the range a ratio parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The ratio must be at least this.
    AtLeast(Ratio),
    /// The ratio must be more than this.
    Above(Ratio),
    /// The ratio must be at most this.
    AtMost(Ratio),
    /// The ratio must be less than this.
    Below(Ratio),
}

impl Bound {
    fn admits(self, r: Ratio) -> bool {
        match self {
            Bound::AtLeast(b) => r.compare(b) != Ordering::Less,
            Bound::Above(b) => r.compare(b) == Ordering::Greater,
            Bound::AtMost(b) => r.compare(b) != Ordering::Greater,
            Bound::Below(b) => r.compare(b) == Ordering::Less,
        }
    }

    fn ratio(self) -> Ratio {
        match self {
            Bound::AtLeast(r) | Bound::Above(r) | Bound::AtMost(r) | Bound::Below(r) => r,
        }
    }

    /// The range from `low` to `high` in words: `from 1/2 to 1`, `above 0, at most 1`.
    fn range(low: Bound, high: Bound) -> String {
        let (a, b) = (words(low.ratio()), words(high.ratio()));
        match (low, high) {
            (Bound::AtLeast(_), Bound::AtMost(_)) => format!("from {a} to {b}"),
            (Bound::AtLeast(_), _) => format!("from {a}, below {b}"),
            (_, Bound::AtMost(_)) => format!("above {a}, at most {b}"),
            _ => format!("above {a}, below {b}"),
        }
    }
}

/// A ratio as members write it: `0` and `1` for the ends, `N/D` otherwise.
fn words(r: Ratio) -> String {
    if r.compare(Ratio::ZERO) == Ordering::Equal {
        "0".into()
    } else if r.compare(Ratio::ONE) == Ordering::Equal {
        "1".into()
    } else {
        r.to_string()
    }
}

/// What a bylaw reports about a charter: the parameters it reads and everything it cannot
/// run with. It becomes the `parameters` and `problems` of the bylaw's `describe`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharterReport {
    /// Every parameter the bylaw reads, in the order it reads them.
    pub parameters: Vec<ParameterSpec>,
    /// Every problem found, in the charter's order of keys where it has one.
    pub problems: Vec<CharterProblem>,
}

impl CharterReport {
    /// True when the bylaw can run with the charter.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for CharterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("`{}`: {}", p.key, p.problem))
            .collect();
        write!(f, "{}", lines.join("; "))
    }
}

/// Reads a charter's parameters, declaring each one as it reads it and collecting every
/// problem (see the [module documentation](self)). A value with a problem reads as its
/// default, so the bylaw can go on reading; [`CharterReader::finish`] reports it.
///
/// [`CharterReader::new`] only checks (what `evaluate` needs on every call, so it allocates
/// nothing for a valid charter); [`CharterReader::describing`] also writes out each
/// parameter's description for `describe`.
#[derive(Debug)]
pub struct CharterReader<'a> {
    charter: Charter<'a>,
    report: CharterReport,
    /// The keys read so far (only when describing: checking keeps no list).
    known: Vec<&'static str>,
    /// How many of the charter's keys were read so far (keys are unique: the host refuses
    /// a charter that repeats one).
    found: usize,
    describing: bool,
}

impl<'a> CharterReader<'a> {
    /// Start reading `params`, checking only.
    pub fn new(params: &'a [Parameter]) -> Self {
        CharterReader {
            charter: Charter::new(params),
            report: CharterReport::default(),
            known: Vec::new(),
            found: 0,
            describing: false,
        }
    }

    /// Read `params` with `read` (a bylaw's own reader of its parameters): the value, or
    /// the report of every problem if there is any. What `evaluate` calls.
    pub fn check<T>(
        params: &'a [Parameter],
        read: impl FnOnce(&mut CharterReader<'a>) -> T,
    ) -> Result<T, CharterReport> {
        let mut r = CharterReader::new(params);
        let value = read(&mut r);
        let report = r.finish();
        if report.is_valid() {
            Ok(value)
        } else {
            Err(report)
        }
    }

    /// Read `params` with `read`, describing every parameter: the value (defaults standing
    /// in for bad values) and the full report. What `describe` calls.
    pub fn describe<T>(
        params: &'a [Parameter],
        read: impl FnOnce(&mut CharterReader<'a>) -> T,
    ) -> (T, CharterReport) {
        let mut r = CharterReader::describing(params);
        let value = read(&mut r);
        (value, r.finish())
    }

    /// Start reading `params`, also describing each parameter read (for `describe`).
    pub fn describing(params: &'a [Parameter]) -> Self {
        CharterReader {
            describing: true,
            ..CharterReader::new(params)
        }
    }

    /// Declare `key` and return its value in the charter, if set.
    fn declare(
        &mut self,
        key: &'static str,
        accepts: impl FnOnce() -> String,
        default: impl FnOnce() -> String,
        about: &str,
    ) -> Option<&'a str> {
        let value = self.charter.get(key);
        if value.is_some() {
            self.found += 1;
        }
        if self.describing {
            self.known.push(key);
            self.report.parameters.push(ParameterSpec {
                key: key.to_string(),
                accepts: accepts(),
                default: default(),
                about: about.to_string(),
            });
        }
        value
    }

    /// Record a problem with `key` (for rules across parameters: a minimum above a maximum).
    pub fn problem(&mut self, key: &str, problem: impl Into<String>) {
        self.report.problems.push(CharterProblem {
            key: key.to_string(),
            problem: problem.into(),
        });
    }

    fn bad_value(&mut self, key: &str, value: &str, accepts: &str, default: &str) {
        self.problem(
            key,
            format!("`{value}` is not {accepts} (the default is {default})"),
        );
    }

    /// A ratio `N/D` between `low` and `high`, or `default` when absent (or invalid).
    pub fn ratio(
        &mut self,
        key: &'static str,
        default: Ratio,
        low: Bound,
        high: Bound,
        about: &str,
    ) -> Ratio {
        let accepts = || format!("a ratio N/D {}", Bound::range(low, high));
        let Some(value) = self.declare(key, accepts, || default.to_string(), about) else {
            return default;
        };
        match Ratio::parse(value) {
            Ok(r) if low.admits(r) && high.admits(r) => r,
            _ => {
                self.bad_value(key, value, &accepts(), &default.to_string());
                default
            }
        }
    }

    /// A whole number of days from `min` to `max`, or `default` when absent (or invalid).
    pub fn days(
        &mut self,
        key: &'static str,
        default: u64,
        min: u64,
        max: u64,
        about: &str,
    ) -> u64 {
        let accepts = format!("a whole number of days from {min} to {max}");
        self.number(key, default, (min, max), about, accepts)
    }

    /// A whole number in `range` (inclusive), described as `accepts`.
    fn number(
        &mut self,
        key: &'static str,
        default: u64,
        (min, max): (u64, u64),
        about: &str,
        accepts: String,
    ) -> u64 {
        let Some(value) = self.declare(key, || accepts.clone(), || default.to_string(), about)
        else {
            return default;
        };
        match value.trim().parse::<u64>() {
            Ok(d) if (min..=max).contains(&d) => d,
            _ => {
                self.bad_value(key, value, &accepts, &default.to_string());
                default
            }
        }
    }

    /// A single kebab-case name (e.g. a role), or `default` when absent (or invalid).
    pub fn name(&mut self, key: &'static str, default: &'static str, about: &str) -> String {
        let accepts = || "a kebab-case name (a-z, 0-9, -)".to_string();
        let Some(value) = self.declare(key, accepts, || default.to_string(), about) else {
            return default.to_string();
        };
        let v = value.trim();
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            v.to_string()
        } else {
            self.bad_value(key, value, &accepts(), default);
            default.to_string()
        }
    }

    /// A whole number from `min` to `max` (e.g. an amount in minor units), or `default`
    /// when absent (or invalid).
    pub fn whole(
        &mut self,
        key: &'static str,
        default: u64,
        min: u64,
        max: u64,
        about: &str,
    ) -> u64 {
        let accepts = format!("a whole number from {min} to {max}");
        self.number(key, default, (min, max), about, accepts)
    }

    /// A non-empty comma-separated list of names, or `default` when absent (or invalid).
    pub fn list(&mut self, key: &'static str, default: &[&str], about: &str) -> Vec<String> {
        let accepts = || "a comma-separated list of one or more names".to_string();
        let value = self.declare(key, accepts, || default.join(","), about);
        let defaults = || default.iter().map(|s| s.to_string()).collect();
        let Some(value) = value else {
            return defaults();
        };
        let items = split_list(value);
        if items.is_empty() {
            self.bad_value(key, value, &accepts(), &default.join(","));
            return defaults();
        }
        items
    }

    /// One of `options` (the value as written in the charter), or `default` when absent (or
    /// not one of them).
    pub fn one_of(
        &mut self,
        key: &'static str,
        default: &'static str,
        options: &[&'static str],
        about: &str,
    ) -> &'static str {
        let accepts = || format!("one of {}", options.join(", "));
        let Some(value) = self.declare(key, accepts, || default.to_string(), about) else {
            return default;
        };
        match options.iter().find(|o| **o == value.trim()) {
            Some(o) => o,
            None => {
                self.bad_value(key, value, &accepts(), default);
                default
            }
        }
    }

    /// The report: the parameters read (when describing), the problems found, and a
    /// problem for every key of the charter that the bylaw never read (a misspelling would
    /// otherwise be ignored and the default silently applied).
    pub fn finish(mut self) -> CharterReport {
        if self.found == self.charter.params.len() {
            return self.report;
        }
        if !self.describing {
            // Checking keeps no list of keys (an `evaluate` allocates nothing for a valid
            // charter); founding and amendments describe, and name the unknown keys.
            self.problem(
                "charter",
                "it sets a parameter these bylaws do not read (`cltd bylaws describe` lists those they do)",
            );
            return self.report;
        }
        let known = std::mem::take(&mut self.known);
        for p in self.charter.params {
            if !known.contains(&p.key.as_str()) {
                let problem = if known.is_empty() {
                    "unknown parameter: these bylaws read no charter parameters".to_string()
                } else {
                    format!(
                        "unknown parameter: these bylaws read {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.report.problems.push(CharterProblem {
                    key: p.key.clone(),
                    problem,
                });
            }
        }
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
        pairs
            .iter()
            .map(|(k, v)| Parameter {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> (Ratio, u64, Vec<String>, CharterReport) {
        let charter = params(pairs);
        let mut r = CharterReader::describing(&charter);
        let t = r.ratio(
            "threshold",
            Ratio::of(2, 3),
            Bound::AtLeast(Ratio::of(1, 2)),
            Bound::AtMost(Ratio::ONE),
            "share needed",
        );
        let d = r.days("window-days", 7, 1, 90, "shortest window");
        let l = r.list("purposes", &["research"], "allowed purposes");
        (t, d, l, r.finish())
    }

    #[test]
    fn a_valid_charter_has_no_problems() {
        let (t, d, l, report) = read(&[("threshold", "3/4"), ("window-days", "14")]);
        assert_eq!(
            (t, d, l),
            (Ratio::of(3, 4), 14, vec!["research".to_string()])
        );
        assert!(report.is_valid(), "{report}");
        assert_eq!(
            report
                .parameters
                .iter()
                .map(|p| p.key.as_str())
                .collect::<Vec<_>>(),
            ["threshold", "window-days", "purposes"]
        );
        assert_eq!(report.parameters[0].default, "2/3");
    }

    #[test]
    fn every_problem_is_reported_with_the_accepted_form() {
        let (t, d, l, report) = read(&[
            ("threshold", "0.75"),
            ("window-days", "0"),
            ("purposes", " , "),
            ("treshold", "3/4"),
        ]);
        // Defaults stand in for every bad value.
        assert_eq!(
            (t, d, l),
            (Ratio::of(2, 3), 7, vec!["research".to_string()])
        );
        let text = report.to_string();
        assert_eq!(report.problems.len(), 4, "{text}");
        assert!(
            text.contains(
                "`threshold`: `0.75` is not a ratio N/D from 1/2 to 1 (the default is 2/3)"
            ),
            "{text}"
        );
        assert!(
            text.contains("`window-days`: `0` is not a whole number of days from 1 to 90"),
            "{text}"
        );
        assert!(
            text.contains("`purposes`: ` , ` is not a comma-separated list"),
            "{text}"
        );
        assert!(
            text.contains("`treshold`: unknown parameter: these bylaws read `threshold`"),
            "{text}"
        );
    }

    #[test]
    fn checking_refuses_an_unknown_key_without_keeping_a_list() {
        let charter = params(&[("threshold", "3/4"), ("treshold", "3/4")]);
        let checked = CharterReader::check(&charter, |r| {
            r.ratio(
                "threshold",
                Ratio::of(2, 3),
                Bound::AtLeast(Ratio::of(1, 2)),
                Bound::AtMost(Ratio::ONE),
                "share needed",
            )
        });
        let report = checked.unwrap_err();
        assert!(report.to_string().contains("do not read"), "{report}");
        let fine = params(&[("threshold", "3/4")]);
        let checked = CharterReader::check(&fine, |r| {
            r.ratio(
                "threshold",
                Ratio::of(2, 3),
                Bound::AtLeast(Ratio::of(1, 2)),
                Bound::AtMost(Ratio::ONE),
                "share needed",
            )
        });
        assert_eq!(checked, Ok(Ratio::of(3, 4)));
    }

    #[test]
    fn bounds_are_exact() {
        let low = Bound::Above(Ratio::ZERO);
        assert!(!low.admits(Ratio::of(0, 5)));
        assert!(low.admits(Ratio::of(1, 1000)));
        let below = Bound::Below(Ratio::ONE);
        assert!(!below.admits(Ratio::of(7, 7)));
        assert!(below.admits(Ratio::of(6, 7)));
        assert!(Bound::AtLeast(Ratio::of(1, 2)).admits(Ratio::of(2, 4)));
    }
}
