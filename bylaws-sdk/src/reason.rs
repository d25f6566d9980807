//! Typed denial reasons: a bylaw declares every reason it can deny with once, with
//! [`reasons!`](crate::reasons), each a stable kebab-case code and the clause it applies,
//! and denies with [`Reason::deny`]. The declared list ([`Reason::ALL`]) is the bylaw's
//! documented interface: cltd's tests check each bylaw's README against it.

use crate::{Denial, Verdict};

/// A reason a bylaw denies an action with. Implemented by the enum [`reasons!`](crate::reasons)
/// declares; not meant to be implemented by hand.
pub trait Reason: Copy + Eq + core::fmt::Debug + 'static {
    /// Every reason the bylaw declares, in declaration order.
    const ALL: &'static [Self];

    /// The reason code, kebab-case: what a program matches on.
    fn code(self) -> &'static str;

    /// The clause that applies, as members read it (`"§3 membership"`).
    fn clause(self) -> &'static str;

    /// Deny the action for this reason, with a plain-language `explanation` a member can act
    /// on.
    fn deny(self, explanation: impl Into<String>) -> Verdict {
        Verdict::Deny(Denial {
            code: self.code().to_string(),
            clause: self.clause().to_string(),
            explanation: explanation.into(),
        })
    }
}

/// `(code, clause)` of every reason of `R`, in declaration order: what a host or a test
/// reads without knowing the enum.
pub fn table<R: Reason>() -> Vec<(&'static str, &'static str)> {
    R::ALL.iter().map(|r| (r.code(), r.clause())).collect()
}

/// Declare the reasons a bylaw denies with: an enum whose variants each name a reason code
/// and the clause it applies, implementing [`Reason`].
///
/// ```
/// use bylaws_sdk::{Reason, Verdict};
///
/// bylaws_sdk::reasons! {
///     /// Why these bylaws deny an action.
///     pub enum Why {
///         /// A non-member tried to act.
///         NotAMember = ("not-a-member", "§1 members act"),
///         /// A proposal without a title.
///         MissingTitle = ("missing-title", "§2"),
///     }
/// }
///
/// let verdict = Why::MissingTitle.deny("a proposal needs a title");
/// assert_eq!(verdict.denial().unwrap().clause, "§2");
/// assert_eq!(bylaws_sdk::reason::table::<Why>()[0], ("not-a-member", "§1 members act"));
/// ```
#[macro_export]
macro_rules! reasons {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $clause:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $crate::Reason for $name {
            const ALL: &'static [Self] = &[ $( $name::$variant, )+ ];

            fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }

            fn clause(self) -> &'static str {
                match self {
                    $( $name::$variant => $clause, )+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{Reason, table};

    crate::reasons! {
        /// Test reasons.
        enum Why {
            /// First.
            Late = ("too-late", "§2 windows"),
            /// Second, same code under another clause.
            LateHere = ("too-late", "§5 asset lock"),
        }
    }

    #[test]
    fn a_reason_denies_with_its_code_and_clause() {
        let v = Why::LateHere.deny("closed");
        let d = v.denial().unwrap();
        assert_eq!(
            (d.code.as_str(), d.clause.as_str(), d.explanation.as_str()),
            ("too-late", "§5 asset lock", "closed")
        );
        assert_eq!(
            table::<Why>(),
            [("too-late", "§2 windows"), ("too-late", "§5 asset lock")]
        );
        assert_eq!(Why::ALL, [Why::Late, Why::LateHere]);
    }
}
