//! A deliberately hostile bylaw for cltd's containment and conformance tests. It misbehaves
//! according to the charter parameter `hostile` (`loop`, `memory-bomb`, `trap`,
//! `deep-recursion`, `huge-explanation`: a 48 MiB denial, `many-notes`: half a million notes),
//! or with `hostile=weighted` follows classic-clt except that residents'
//! votes count twice on ordinary resolutions (breaking one member, one vote), or with
//! `hostile=time-bomb` follows classic-clt until 2030 and then lets any disposal pass (a
//! lock that lifts later), or with `hostile=gamer` follows classic-clt inside the entrenched
//! clauses' synthetic trust (recognised by its members' names) and passes any proposal with
//! more yes than no everywhere else (a bylaw written to fool the conformance vectors), or
//! with `hostile=weak-migrate` follows classic-clt but its `migrate` quietly lowers the
//! disposal threshold to 1/2; otherwise it allows everything. Never give it to a real trust.

use bylaws_sdk::{
    Action, ActionKind, Allowance, Bylaw, BylawInfo, Charter, CharterReader, Choice, Outcome,
    Parameter, ProposalBody, StakeholderClass, Tally, Verdict, View, allow, decide, deny,
};

/// The hostile bylaw.
pub struct Hostile;

bylaws_sdk::export_bylaw!(Hostile);

impl Bylaw for Hostile {
    fn evaluate(view: &View, action: &Action) -> Verdict {
        match Charter::new(&view.charter).get("hostile") {
            Some("loop") => spin(view.now),
            Some("memory-bomb") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    if hoard.len() == usize::MAX {
                        break allow();
                    }
                }
            }
            Some("trap") => panic!("hostile bylaw traps on purpose"),
            Some("deep-recursion") => {
                std::hint::black_box(recurse(view.now));
                allow()
            }
            Some("huge-explanation") => deny("hostile", "§0", "x".repeat(48 << 20)),
            Some("many-notes") => Verdict::Allow(Allowance {
                decision: None,
                notes: vec![String::new(); 1 << 19],
            }),
            Some("weighted") => weighted(view, action),
            Some("time-bomb") => time_bomb(view, action),
            Some("gamer") => gamer(view, action),
            Some("weak-migrate") => classic(view, action),
            _ => allow(),
        }
    }

    fn migrate(_previous: &[Parameter], proposed: &[Parameter]) -> Result<Vec<Parameter>, String> {
        let mut charter = proposed.to_vec();
        if Charter::new(proposed).get("hostile") == Some("weak-migrate") {
            charter.retain(|p| p.key != "disposal-threshold");
            charter.push(Parameter {
                key: "disposal-threshold".into(),
                value: "1/2".into(),
            });
        }
        Ok(charter)
    }

    fn describe(charter: &[Parameter]) -> BylawInfo {
        let (_, report) = CharterReader::describe(charter, read);
        let info = BylawInfo::new("hostile", "0", vec!["misbehaves on purpose".into()], report);
        // Weighing votes by class needs each ballot with its voter's class: the roll.
        if Charter::new(charter).get("hostile") == Some("weighted") {
            info.needs_roll(&[ActionKind::Close])
        } else {
            info
        }
    }
}

/// classic-clt's parameters (for the modes that follow it) and the mode.
fn read(r: &mut CharterReader<'_>) -> classic_clt::Params {
    let params = classic_clt::Params::read(r);
    r.one_of(
        "hostile",
        "allow-all",
        &[
            "allow-all",
            "loop",
            "memory-bomb",
            "trap",
            "deep-recursion",
            "huge-explanation",
            "many-notes",
            "weighted",
            "time-bomb",
            "gamer",
            "weak-migrate",
        ],
        "how to misbehave",
    );
    params
}

/// What classic-clt decides, with this bylaw's charter.
fn classic(view: &View, action: &Action) -> Verdict {
    match CharterReader::check(&view.charter, read) {
        Ok(params) => classic_clt::judge(&params, view, action),
        Err(report) => deny("bad-charter", "charter", report.to_string()),
    }
}

/// classic-clt in the conformance vectors' synthetic trust, whose members are named after
/// their class (`resident 1`); elsewhere a closed proposal passes with more yes than no.
fn gamer(view: &View, action: &Action) -> Verdict {
    let synthetic = view.actor_member.as_ref().is_some_and(|m| {
        m.name
            .rsplit_once(' ')
            .is_some_and(|(class, n)| class == m.class.name() && n.parse::<u32>().is_ok())
    });
    match (&view.proposal, action) {
        (Some(p), Action::Close(_)) if !synthetic => {
            let tally = Tally::of(p);
            let (yes, no) = (tally.all.yes, tally.all.no);
            let outcome = if yes > no {
                Outcome::Passed
            } else {
                Outcome::Rejected
            };
            decide(outcome, format!("gamer: {yes} yes against {no} no"))
        }
        _ => classic(view, action),
    }
}

/// classic-clt until 2030-01-01; from then on every disposal that is closed passes.
fn time_bomb(view: &View, action: &Action) -> Verdict {
    const Y2030: u64 = 1_893_456_000;
    let disposal = view
        .proposal
        .as_ref()
        .is_some_and(|p| matches!(p.body, ProposalBody::DisposeAsset(_)));
    if view.now >= Y2030 && disposal && matches!(action, Action::Close(_)) {
        return decide(Outcome::Passed, "the lock has lifted");
    }
    classic(view, action)
}

/// classic-clt, but an ordinary resolution counts each resident's vote twice.
fn weighted(view: &View, action: &Action) -> Verdict {
    let (Some(_), Some(roll)) = (
        view.proposal.as_ref().filter(|p| {
            matches!(action, Action::Close(_)) && matches!(p.body, ProposalBody::Ordinary)
        }),
        view.roll.as_ref(),
    ) else {
        return classic(view, action);
    };
    let (mut yes, mut no) = (0u64, 0u64);
    for (voter, choice) in roll.ballots() {
        let resident = roll.class(voter) == Some(StakeholderClass::Resident);
        let weight = if resident { 2 } else { 1 };
        match choice {
            Choice::Yes => yes += weight,
            Choice::No => no += weight,
            Choice::Abstain => {}
        }
    }
    let outcome = if yes > no {
        Outcome::Passed
    } else {
        Outcome::Rejected
    };
    decide(outcome, format!("weighted: {yes} yes against {no} no"))
}

/// Loop forever, in a way the optimiser cannot remove.
fn spin(seed: u64) -> Verdict {
    let mut x = seed;
    loop {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        if x == seed.wrapping_sub(1) && x == seed {
            return allow();
        }
    }
}

/// Recurse without bound.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        0
    } else {
        recurse(std::hint::black_box(n + 1)).wrapping_add(1)
    }
}
