//! Typed access to a trust's charter parameters.

use std::fmt;

use crate::{Parameter, Ratio};

/// A read-only view of charter parameters with typed getters and defaults.
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
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
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
