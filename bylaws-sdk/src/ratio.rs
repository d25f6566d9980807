//! Exact ratios for thresholds and quorums.

use std::fmt;

/// An exact fraction `num/den`, compared with integer arithmetic only.
///
/// ```
/// use bylaws_sdk::Ratio;
/// let two_thirds = Ratio::new(2, 3).unwrap();
/// assert!(two_thirds.is_met_by(2, 3));
/// assert!(!two_thirds.is_met_by(1, 3));
/// assert!(!two_thirds.is_met_by(0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    num: u32,
    den: u32,
}

/// Why a ratio could not be made or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatioError {
    /// The denominator was zero.
    ZeroDenominator,
    /// The numerator was larger than the denominator.
    AboveOne,
    /// The text was not of the form `N/D`.
    Malformed(String),
}

impl fmt::Display for RatioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RatioError::ZeroDenominator => write!(f, "a ratio's denominator must not be zero"),
            RatioError::AboveOne => write!(f, "a ratio must not exceed 1"),
            RatioError::Malformed(s) => write!(f, "`{s}` is not a ratio of the form N/D"),
        }
    }
}

impl std::error::Error for RatioError {}

impl Ratio {
    /// A ratio `num/den` between 0 and 1.
    pub const fn new(num: u32, den: u32) -> Result<Self, RatioError> {
        if den == 0 {
            return Err(RatioError::ZeroDenominator);
        }
        if num > den {
            return Err(RatioError::AboveOne);
        }
        Ok(Ratio { num, den })
    }

    /// The numerator.
    pub const fn num(self) -> u32 {
        self.num
    }

    /// The denominator (never zero).
    pub const fn den(self) -> u32 {
        self.den
    }

    /// The ratio `num/den`, for constants: `Ratio::of(2, 3)`. Panics (at compile time in a
    /// `const`) if the denominator is zero or the ratio exceeds 1.
    pub const fn of(num: u32, den: u32) -> Self {
        assert!(den != 0, "a ratio's denominator must not be zero");
        assert!(num <= den, "a ratio must not exceed 1");
        Ratio { num, den }
    }

    /// Nothing: `0/1`.
    pub const ZERO: Ratio = Ratio::of(0, 1);

    /// Everything: `1/1`.
    pub const ONE: Ratio = Ratio::of(1, 1);

    /// Compare the values of two ratios exactly (`2/4` equals `1/2` here, though the two are
    /// written differently and so are not `==`).
    pub fn compare(self, other: Ratio) -> std::cmp::Ordering {
        (u64::from(self.num) * u64::from(other.den))
            .cmp(&(u64::from(other.num) * u64::from(self.den)))
    }

    /// Parse `N/D` (e.g. `2/3`).
    pub fn parse(text: &str) -> Result<Self, RatioError> {
        let malformed = || RatioError::Malformed(text.to_string());
        let (n, d) = text.trim().split_once('/').ok_or_else(malformed)?;
        let num = n.trim().parse().map_err(|_| malformed())?;
        let den = d.trim().parse().map_err(|_| malformed())?;
        Ratio::new(num, den)
    }

    /// True when `part/whole >= num/den`. A zero `whole` never meets a ratio above zero.
    pub fn is_met_by(self, part: u64, whole: u64) -> bool {
        if whole == 0 {
            return self.num == 0;
        }
        u128::from(part) * u128::from(self.den) >= u128::from(self.num) * u128::from(whole)
    }

    /// True when `part/whole > num/den` (strictly more, as in "a simple majority").
    pub fn is_exceeded_by(self, part: u64, whole: u64) -> bool {
        whole != 0
            && u128::from(part) * u128::from(self.den) > u128::from(self.num) * u128::from(whole)
    }

    /// The smallest count out of `whole` that meets this ratio.
    pub fn minimum_of(self, whole: u64) -> u64 {
        let need = u128::from(self.num) * u128::from(whole);
        let den = u128::from(self.den);
        u64::try_from(need.div_ceil(den)).expect("a ratio of at most 1 times a u64 fits in a u64")
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// `part` out of `whole` as a percentage rounded to the nearest whole (halves up: 2 of 3 is
/// 67, 1 of 8 is 13), 0 when `whole` is 0. Rounded figures are for reading: thresholds are
/// always compared exactly, and explanations print the exact fraction beside them.
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        let (part, whole) = (u128::from(part), u128::from(whole));
        u64::try_from((part * 200 + whole) / (whole * 2)).expect("a share of at most 100")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_thirds_is_exact() {
        let r = Ratio::new(2, 3).unwrap();
        assert!(r.is_met_by(2, 3));
        assert!(r.is_met_by(4, 6));
        assert!(!r.is_met_by(666_666, 1_000_000));
        assert!(r.is_met_by(666_667, 1_000_000));
        assert_eq!(r.minimum_of(3), 2);
        assert_eq!(r.minimum_of(4), 3);
    }

    #[test]
    fn majority_is_strict() {
        let half = Ratio::new(1, 2).unwrap();
        assert!(!half.is_exceeded_by(1, 2));
        assert!(half.is_exceeded_by(2, 3));
        assert!(!half.is_exceeded_by(0, 0));
    }

    #[test]
    fn parse_rejects_nonsense() {
        assert_eq!(Ratio::parse(" 1 / 3 ").unwrap(), Ratio::new(1, 3).unwrap());
        assert_eq!(Ratio::parse("3/2"), Err(RatioError::AboveOne));
        assert_eq!(Ratio::parse("1/0"), Err(RatioError::ZeroDenominator));
        assert!(matches!(Ratio::parse("0.5"), Err(RatioError::Malformed(_))));
    }

    #[test]
    fn percentages_round_to_the_nearest_whole() {
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(1, 8), 13);
        assert_eq!(percent(1, 200), 1);
        assert_eq!(percent(1, 201), 0);
        assert_eq!(percent(0, 0), 0);
    }

    #[test]
    fn constants_and_exact_comparison() {
        use std::cmp::Ordering;
        assert_eq!(Ratio::of(2, 4).compare(Ratio::of(1, 2)), Ordering::Equal);
        assert_eq!(Ratio::of(2, 3).compare(Ratio::of(3, 4)), Ordering::Less);
        assert_eq!(Ratio::ONE.compare(Ratio::ZERO), Ordering::Greater);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let r = Ratio::new(u32::MAX - 1, u32::MAX).unwrap();
        assert!(r.is_met_by(u64::MAX, u64::MAX));
        assert_eq!(percent(u64::MAX, u64::MAX), 100);
    }
}
