//! Participatory budgeting: which projects a round funds, from its approval ballots, by
//! one of two rules a charter chooses between, both with exact arithmetic.
//!
//! - **Greedy by approvals** (what Decidim and most cities run): projects in order of
//!   approvals, each funded if it still fits in what is left of the budget.
//! - **The Method of Equal Shares** (Peters & Skowron; run in real city budgets): the budget
//!   is split equally among the voters; a project is funded only if its supporters can pay
//!   for it from their shares (each paying `rho`, or all they have left if less), and each
//!   step funds the project whose supporters pay the smallest part of its cost each
//!   (`rho / cost`: a voter's utility for a project they approve is its cost, the version
//!   that makes the method a proportional counterpart of greedy). It has no completion
//!   step, so it can leave budget unspent; the leftover is shown. Shares are kept as exact
//!   fractions of any size.
//!
//! Ties (equal approvals for greedy, equal `rho / cost` for equal shares) are broken by the rule
//! [`tie_order`] writes down: more approvals first, then the cheaper project, then the
//! earlier submission (lower number).
//!
//! ```
//! use bylaws_sdk::clauses::budget::{greedy, equal_shares};
//! use bylaws_sdk::{Project, Round};
//! let p = |id, cost, approvals| Project { id, title: format!("p{id}"), cost, proposer: vec![0; 32], approvals };
//! // 3 voters, budget 300: two approve project 1 (cost 200), one approves project 2 (100).
//! let round = Round { budget: 300, projects: vec![p(1, 200, 2), p(2, 100, 1)],
//!     approvals: vec![1, 1, 2], ballot_ends: vec![1, 2, 3] };
//! assert_eq!(greedy(&round).funded, vec![1, 2]);
//! assert_eq!(equal_shares(&round).funded, vec![1, 2]);
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use crate::{Project, Round};

/// Which projects a rule funds, and why, project by project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The funded projects' numbers, in the order the rule funded them.
    pub funded: Vec<u32>,
    /// The budget left unspent.
    pub leftover: u64,
    /// One line per project, in project order: its approvals, cost, and whether and why it
    /// was funded.
    pub lines: Vec<String>,
}

/// The tie rule both methods use: more approvals first, then the cheaper project, then
/// the lower number (the earlier submission).
pub fn tie_order(a: &Project, b: &Project) -> Ordering {
    b.approvals
        .cmp(&a.approvals)
        .then(a.cost.cmp(&b.cost))
        .then(a.id.cmp(&b.id))
}

/// The ballots of a round, each a slice of project numbers.
pub fn ballots(round: &Round) -> Vec<&[u32]> {
    let mut out = Vec::with_capacity(round.ballot_ends.len());
    let mut start = 0usize;
    for end in &round.ballot_ends {
        let end = (*end as usize).min(round.approvals.len()).max(start);
        out.push(&round.approvals[start..end]);
        start = end;
    }
    out
}

/// Greedy by approvals within the budget.
pub fn greedy(round: &Round) -> Selection {
    let mut order: Vec<&Project> = round.projects.iter().collect();
    order.sort_by(|a, b| tie_order(a, b));
    let mut left = round.budget;
    let mut funded = Vec::new();
    let mut why: BTreeMap<u32, String> = BTreeMap::new();
    for p in order {
        if p.approvals == 0 {
            why.insert(p.id, "not funded: no approvals".into());
        } else if p.cost <= left {
            left -= p.cost;
            funded.push(p.id);
            why.insert(p.id, format!("funded (rank {} by approvals)", funded.len()));
        } else {
            why.insert(p.id, format!("not funded: costs more than the {left} left"));
        }
    }
    finish(round, funded, left, why)
}

/// The Method of Equal Shares with approval utilities, in exact arithmetic.
pub fn equal_shares(round: &Round) -> Selection {
    let ballots = ballots(round);
    let mut why: BTreeMap<u32, String> = BTreeMap::new();
    if ballots.is_empty() {
        for p in &round.projects {
            why.insert(p.id, "not funded: nobody voted".into());
        }
        return finish(round, Vec::new(), round.budget, why);
    }
    // Each project's supporters, by voter number (a ballot naming a project twice counts
    // once; an unknown project is ignored).
    let index: BTreeMap<u32, usize> = round
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    let mut supporters: Vec<Vec<u32>> = vec![Vec::new(); round.projects.len()];
    let mut approves: Vec<Vec<u32>> = Vec::with_capacity(ballots.len());
    for (v, b) in ballots.iter().enumerate() {
        let mut b: Vec<u32> = b
            .iter()
            .filter_map(|id| index.get(id).map(|i| *i as u32))
            .collect();
        b.sort_unstable();
        b.dedup();
        for &i in &b {
            supporters[i as usize].push(v as u32);
        }
        approves.push(b);
    }
    // Voters who hold the same amount are one class: everyone starts with an equal share,
    // and each funded project moves its supporters' classes to new ones (the same new one
    // for every voter of a class), so the arithmetic is done per class, not per voter.
    // Amounts are exact: integers over one common denominator `d`, which grows by the
    // denominator of each step's payment, so no step needs a fraction's gcd.
    let mut d = BigInt::from(ballots.len() as u64);
    let mut value: Vec<BigInt> = vec![BigInt::from(round.budget)];
    let mut class: Vec<u32> = vec![0; ballots.len()];
    // Each project's supporters per class, kept as voters change class (so a step costs
    // the funded project's supporters' ballots, not every ballot again).
    let mut tally: Vec<Vec<u64>> = supporters.iter().map(|s| vec![s.len() as u64]).collect();
    let mut funded: Vec<u32> = Vec::new();
    let mut spent: u64 = 0;
    let share_text = show(&BigInt::from(round.budget), &d);
    loop {
        // The project whose supporters pay the least part of its cost: rho / cost, with rho
        // = n / m (over `d`), compared without dividing.
        let mut best: Option<(BigInt, BigInt, usize)> = None;
        for (i, p) in round.projects.iter().enumerate() {
            if funded.contains(&p.id) {
                continue;
            }
            let held = holdings(&tally[i], &value);
            let Some((n, m)) = price(&(BigInt::from(p.cost) * &d), &held) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((bn, bm, j)) => {
                    let q = &round.projects[*j];
                    let mine = &n * bm * q.cost;
                    let theirs = bn * &m * p.cost;
                    mine < theirs || (mine == theirs && tie_order(p, q) == Ordering::Less)
                }
            };
            if better {
                best = Some((n, m, i));
            }
        }
        let Some((n, m, i)) = best else { break };
        // Every amount is rescaled to the denominator d * m, where rho is the integer n.
        let g = n.gcd(&m);
        let (rho, m) = (&n / &g, &m / &g);
        if !m.is_one() {
            d *= &m;
            for v in value.iter_mut() {
                *v *= &m;
            }
        }
        let mut moved: BTreeMap<u32, u32> = BTreeMap::new();
        for &v in &supporters[i] {
            let old = class[v as usize];
            let new = *moved.entry(old).or_insert_with(|| {
                let left = &value[old as usize];
                let after = if *left < rho {
                    BigInt::zero()
                } else {
                    left - &rho
                };
                value.push(after);
                for t in tally.iter_mut() {
                    t.push(0);
                }
                (value.len() - 1) as u32
            });
            class[v as usize] = new;
            for &j in &approves[v as usize] {
                let t = &mut tally[j as usize];
                t[old as usize] -= 1;
                t[new as usize] += 1;
            }
        }
        let p = &round.projects[i];
        spent += p.cost;
        funded.push(p.id);
        why.insert(
            p.id,
            format!(
                "funded (step {}): each supporter pays at most {} of an equal share of {}",
                funded.len(),
                show(&rho, &d),
                share_text
            ),
        );
    }
    for (i, p) in round.projects.iter().enumerate() {
        why.entry(p.id).or_insert_with(|| {
            let have = holdings(&tally[i], &value)
                .iter()
                .fold(BigInt::zero(), |a, (left, w)| a + left * w);
            if p.approvals == 0 {
                "not funded: no approvals".into()
            } else {
                format!(
                    "not funded: its supporters have {} left of their shares, it costs {}",
                    show(&have, &d),
                    p.cost
                )
            }
        });
    }
    finish(round, funded, round.budget - spent, why)
}

/// What a project's supporters hold, from their count per class: (amount over the common
/// denominator, how many hold it), one pair per class with money left, ascending.
fn holdings(tally: &[u64], value: &[BigInt]) -> Vec<(BigInt, u64)> {
    let mut held: Vec<(BigInt, u64)> = tally
        .iter()
        .enumerate()
        .filter(|(c, n)| **n > 0 && value[*c].is_positive())
        .map(|(c, n)| (value[c].clone(), *n))
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    held
}

/// The least payment `rho` at which supporters holding `held` (ascending, over the common
/// denominator) can pay `cost` (over the same denominator), each paying `rho` or all they
/// hold if less, as the fraction `(n, m)`: rho = n / m. None if they cannot pay it.
fn price(cost: &BigInt, held: &[(BigInt, u64)]) -> Option<(BigInt, BigInt)> {
    if cost.is_zero() {
        return Some((BigInt::zero(), BigInt::one()));
    }
    let total = held
        .iter()
        .fold(BigInt::zero(), |a, (left, w)| a + left * w);
    if total < *cost {
        return None;
    }
    let mut weight_left: u64 = held.iter().map(|(_, w)| w).sum();
    let mut paid = BigInt::zero();
    for (left, w) in held {
        // Everyone from here on pays rho = (cost - paid) / weight_left, unless that is more
        // than this class holds.
        let rest = cost - &paid;
        if rest <= left * weight_left {
            return Some((rest, BigInt::from(weight_left)));
        }
        paid += left * w;
        weight_left -= w;
        if weight_left == 0 {
            break;
        }
    }
    None
}

/// An amount of minor units `n / d` for explanations: whole when it is, else with two
/// decimals (rounded down).
fn show(n: &BigInt, d: &BigInt) -> String {
    let r = BigRational::new(n.clone(), d.clone());
    if r.is_integer() {
        return r.to_integer().to_string();
    }
    let hundredths = (r * BigRational::from_integer(BigInt::from(100)))
        .floor()
        .to_integer();
    let whole = &hundredths / 100;
    let cents: BigInt = &hundredths % 100;
    format!(
        "{whole}.{:02}",
        cents.to_string().parse::<u32>().unwrap_or(0)
    )
}

fn finish(round: &Round, funded: Vec<u32>, leftover: u64, why: BTreeMap<u32, String>) -> Selection {
    let lines = round
        .projects
        .iter()
        .map(|p| {
            format!(
                "project {} `{}` ({} approvals, cost {}): {}",
                p.id,
                p.title,
                p.approvals,
                p.cost,
                why.get(&p.id).map(String::as_str).unwrap_or("")
            )
        })
        .collect();
    Selection {
        funded,
        leftover,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: u32, cost: u64) -> Project {
        Project {
            id,
            title: format!("p{id}"),
            cost,
            proposer: vec![0; 32],
            approvals: 0,
        }
    }

    /// A round from ballots (each a list of project numbers); approvals counted from them.
    fn round(budget: u64, costs: &[u64], ballots: &[&[u32]]) -> Round {
        let mut projects: Vec<Project> = costs
            .iter()
            .enumerate()
            .map(|(i, c)| project(i as u32 + 1, *c))
            .collect();
        let mut approvals = Vec::new();
        let mut ends = Vec::new();
        for b in ballots {
            for n in *b {
                projects[*n as usize - 1].approvals += 1;
            }
            approvals.extend_from_slice(b);
            ends.push(approvals.len() as u32);
        }
        Round {
            budget,
            projects,
            approvals,
            ballot_ends: ends,
        }
    }

    #[test]
    fn greedy_funds_by_approvals_while_they_fit() {
        // Approvals: p1 3, p2 2, p3 2, p4 1. Budget 100.
        let r = round(
            100,
            &[60, 50, 30, 10],
            &[&[1, 2], &[1, 3], &[1, 2, 3], &[4]],
        );
        let s = greedy(&r);
        // p1 (60) fits, p3 (30, cheaper than p2 at equal approvals) fits, p2 does not, p4 (10) fits.
        assert_eq!(s.funded, vec![1, 3, 4]);
        assert_eq!(s.leftover, 0);
        assert!(s.lines[1].contains("not funded: costs more than the 10 left"));
    }

    #[test]
    fn equal_shares_gives_a_minority_its_proportional_share() {
        // 10 voters, budget 100 (10 each). 7 approve A (70), 6 of them B (30) too, 3 approve
        // C (30). Greedy: A (7 approvals), B (6) -> 100; C is not funded though 30% of the
        // voters want only C. Equal shares: rho/cost is A 10/70, B 5/30, C 10/30, so A:
        // the 7 pay 10 each and have nothing left, B cannot be paid for, C: the 3 pay 10
        // each. Funded A and C, 0 left.
        let mut ballots: Vec<&[u32]> = vec![&[1, 2]; 6];
        ballots.push(&[1]);
        ballots.extend(vec![&[3u32][..]; 3]);
        let r = round(100, &[70, 30, 30], &ballots);
        assert_eq!(greedy(&r).funded, vec![1, 2]);
        let s = equal_shares(&r);
        assert_eq!(s.funded, vec![1, 3]);
        assert_eq!(s.leftover, 0);
    }

    #[test]
    fn equal_shares_is_exact_where_shares_are_fractions() {
        // 3 voters, budget 100 (33 1/3 each). p1 (50) and p3 (40) are approved by all
        // three, p2 (50) by two. rho/cost: p1 (50/3)/50 = 1/3, p2 25/50 = 1/2, p3
        // (40/3)/40 = 1/3: p1 and p3 tie, equal approvals, p3 is cheaper: p3 first, each
        // pays 13 1/3 and keeps 20. Then p1: 3 x 20 = 60 >= 50, rho 16 2/3; p2: 2 x 20 < 50.
        // After p1 each keeps 3 1/3; p2 cannot be paid for. 10 left.
        let r = round(100, &[50, 50, 40], &[&[1, 2, 3], &[1, 2, 3], &[1, 3]]);
        let s = equal_shares(&r);
        assert_eq!(s.funded, vec![3, 1]);
        assert_eq!(s.leftover, 10);
        assert!(s.lines[0].contains("at most 16.66"), "{:?}", s.lines);
    }

    #[test]
    fn ties_go_to_more_approvals_then_the_cheaper_then_the_earlier_project() {
        let r = round(50, &[50, 50], &[&[1, 2]]);
        assert_eq!(greedy(&r).funded, vec![1]);
        assert_eq!(equal_shares(&r).funded, vec![1]);
        let r = round(50, &[50, 40], &[&[1, 2]]);
        assert_eq!(greedy(&r).funded, vec![2]);
        assert_eq!(equal_shares(&r).funded, vec![2]);
    }

    #[test]
    fn a_round_without_ballots_funds_nothing() {
        let r = round(100, &[10], &[]);
        assert!(greedy(&r).funded.is_empty());
        assert!(equal_shares(&r).funded.is_empty());
        assert_eq!(equal_shares(&r).leftover, 100);
    }
}
