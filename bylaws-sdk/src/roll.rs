//! Reading a proposal's roll (`view.roll`, for the kinds of action a bylaw lists in
//! `needs-roll`). The contract lays a roll out as lists of numbers, so the host lowers an
//! electorate of any size as a few copies of memory; [`Roll`]'s methods read it back as
//! [`Elector`]s and ballots. Electors are numbered from 0 in key order; keys are
//! [`RollKey`]s (four 64-bit words), which [`roll_key`] and [`key_bytes`] convert from and
//! to a member's 32-byte key.

use crate::{CLASSES, Choice, Roll, RollProxy, StakeholderClass};

/// A member's key as a roll carries it: the 32 bytes as four words read big-endian, so
/// tuples order as the bytes do.
pub type RollKey = (u64, u64, u64, u64);

/// The roll key of a member's key (`member.key`, `view.actor`); `None` if it is not 32
/// bytes long (the host never passes such a key).
pub fn roll_key(key: &[u8]) -> Option<RollKey> {
    let bytes: &[u8; 32] = key.try_into().ok()?;
    let w = |i: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_be_bytes(word)
    };
    Some((w(0), w(1), w(2), w(3)))
}

/// The 32 bytes a roll key stands for ([`roll_key`] undone).
pub fn key_bytes((a, b, c, d): RollKey) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in [a, b, c, d].into_iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// An elector's delegation, frozen when the proposal opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectorProxy {
    /// The member who votes for them (an elector or not).
    pub delegate: RollKey,
    /// Host time at which the delegation lapses.
    pub until: u64,
}

/// A member entitled to vote on a proposal, frozen when it opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elector {
    /// Their key.
    pub key: RollKey,
    /// Their class when the proposal opened.
    pub class: StakeholderClass,
    /// Their delegation in force when the proposal opened, if any.
    pub proxy: Option<ElectorProxy>,
}

/// A ballot cast in person, as a test builds a roll from ([`Roll::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ballot {
    /// The voter's key.
    pub voter: RollKey,
    /// Their choice.
    pub choice: Choice,
}

/// The choice a roll's case number stands for.
fn choice_of(n: u8) -> Option<Choice> {
    match n {
        0 => Some(Choice::Yes),
        1 => Some(Choice::No),
        2 => Some(Choice::Abstain),
        _ => None,
    }
}

/// A choice's case number in the contract's `choice`.
fn choice_number(c: Choice) -> u8 {
    match c {
        Choice::Yes => 0,
        Choice::No => 1,
        Choice::Abstain => 2,
    }
}

/// A class's case number in the contract's `stakeholder-class`.
fn class_number(class: StakeholderClass) -> u8 {
    CLASSES
        .iter()
        .position(|c| *c == class)
        .and_then(|i| u8::try_from(i).ok())
        .expect("every class is in CLASSES")
}

impl Roll {
    /// The roll of `electorate` (in any order; a key listed twice counts once, first
    /// listing) with `ballots` (in the order cast; an elector's first counts, a non-
    /// elector's none), laid out as the host passes it.
    pub fn new(electorate: &[Elector], ballots: &[Ballot]) -> Roll {
        let mut electors: Vec<&Elector> = electorate.iter().collect();
        electors.sort_by_key(|e| e.key);
        electors.dedup_by_key(|e| e.key);
        let mut cast: Vec<(u32, u8)> = Vec::new();
        let mut roll = Roll {
            keys: Vec::with_capacity(4 * electors.len()),
            classes: Vec::with_capacity(electors.len()),
            proxies: Vec::new(),
            voters: Vec::new(),
            choices: Vec::new(),
        };
        for (i, e) in electors.iter().enumerate() {
            let n = u32::try_from(i).expect("fewer than 2^32 electors");
            roll.keys.extend([e.key.0, e.key.1, e.key.2, e.key.3]);
            roll.classes.push(class_number(e.class));
            if let Some(p) = e.proxy {
                roll.proxies.push(RollProxy {
                    elector: n,
                    delegate: p.delegate,
                    until: p.until,
                });
            }
        }
        for b in ballots {
            if let Some(i) = roll.find(b.voter) {
                let n = u32::try_from(i).expect("fewer than 2^32 electors");
                if !cast.iter().any(|(v, _)| *v == n) {
                    cast.push((n, choice_number(b.choice)));
                }
            }
        }
        cast.sort_unstable();
        (roll.voters, roll.choices) = cast.into_iter().unzip();
        roll
    }

    /// Electors in the roll.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether the electorate is empty.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Elector `i`'s key.
    pub fn key(&self, i: usize) -> Option<RollKey> {
        match self.keys.get(4 * i..4 * i + 4)? {
            &[a, b, c, d] => Some((a, b, c, d)),
            _ => None,
        }
    }

    /// Elector `i`'s class.
    pub fn class(&self, i: usize) -> Option<StakeholderClass> {
        CLASSES.get(usize::from(*self.classes.get(i)?)).copied()
    }

    /// The number of the elector with `key`, found by binary search.
    pub fn find(&self, key: RollKey) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid)?.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Elector `i`, with their delegation.
    pub fn elector(&self, i: usize) -> Option<Elector> {
        let n = u32::try_from(i).ok()?;
        let proxy = self
            .proxies
            .binary_search_by_key(&n, |p| p.elector)
            .ok()
            .map(|p| ElectorProxy {
                delegate: self.proxies[p].delegate,
                until: self.proxies[p].until,
            });
        Some(Elector {
            key: self.key(i)?,
            class: self.class(i)?,
            proxy,
        })
    }

    /// Every elector, in key order.
    pub fn electors(&self) -> impl Iterator<Item = Elector> + '_ {
        (0..self.len()).filter_map(|i| self.elector(i))
    }

    /// The ballot elector `i` cast in person, if any.
    pub fn choice(&self, i: usize) -> Option<Choice> {
        let n = u32::try_from(i).ok()?;
        let at = self.voters.binary_search(&n).ok()?;
        choice_of(*self.choices.get(at)?)
    }

    /// Every ballot cast in person, by elector number ascending: the elector's number and
    /// their choice.
    pub fn ballots(&self) -> impl Iterator<Item = (usize, Choice)> + '_ {
        self.voters
            .iter()
            .zip(&self.choices)
            .filter_map(|(v, c)| Some((usize::try_from(*v).ok()?, choice_of(*c)?)))
            .filter(|(v, _)| *v < self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> RollKey {
        roll_key(&[n; 32]).unwrap()
    }

    #[test]
    fn a_roll_key_is_the_key_and_orders_as_its_bytes() {
        let mut a = [0u8; 32];
        a[0] = 1;
        a[31] = 0xff;
        let mut b = a;
        b[7] = 2;
        let (ka, kb) = (roll_key(&a).unwrap(), roll_key(&b).unwrap());
        assert_eq!(key_bytes(ka), a);
        assert_eq!(key_bytes(kb), b);
        assert_eq!(ka < kb, a < b);
        assert_eq!(ka.0, 1 << 56);
        assert_eq!(ka.3, 0xff);
        assert_eq!(roll_key(&a[..31]), None);
    }

    #[test]
    fn a_roll_reads_back_as_electors_and_ballots() {
        let elector = |n: u8, class, proxy: Option<(u8, u64)>| Elector {
            key: k(n),
            class,
            proxy: proxy.map(|(to, until)| ElectorProxy {
                delegate: k(to),
                until,
            }),
        };
        let ballot = |n: u8, choice| Ballot {
            voter: k(n),
            choice,
        };
        let electorate = [
            elector(9, StakeholderClass::Worker, Some((3, 77))),
            elector(3, StakeholderClass::DataEthicsCouncil, None),
            elector(5, StakeholderClass::Resident, Some((42, 5))),
            elector(3, StakeholderClass::User, None),
        ];
        let roll = Roll::new(
            &electorate,
            &[
                ballot(9, Choice::No),
                ballot(4, Choice::Yes),
                ballot(3, Choice::Abstain),
                ballot(9, Choice::Yes),
            ],
        );
        // In key order, the first listing of 3 kept.
        assert_eq!(
            roll.electors().collect::<Vec<_>>(),
            vec![electorate[1], electorate[2], electorate[0]]
        );
        assert_eq!(roll.find(k(5)), Some(1));
        assert_eq!(roll.find(k(4)), None);
        // A non-elector's ballot is dropped and an elector's first ballot counts.
        assert_eq!(
            roll.ballots().collect::<Vec<_>>(),
            vec![(0, Choice::Abstain), (2, Choice::No)]
        );
        assert_eq!(roll.choice(1), None);
        assert_eq!(roll.choice(2), Some(Choice::No));
        assert_eq!(roll.len(), 3);
        assert_eq!(roll.elector(3), None);
    }
}
