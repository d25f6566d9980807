//! A deliberately hostile bylaw for cltd's containment tests. It misbehaves according to the
//! charter parameter `hostile` (`loop`, `memory-bomb`, `trap`, `deep-recursion`) and otherwise
//! allows everything. Never give it to a real trust.

use bylaws_sdk::{Action, Bylaw, BylawInfo, Charter, Parameter, Verdict, View, allow};

/// The hostile bylaw.
pub struct Hostile;

bylaws_sdk::export_bylaw!(Hostile);

impl Bylaw for Hostile {
    fn evaluate(view: &View, _action: &Action) -> Verdict {
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
            _ => allow(),
        }
    }

    fn describe(_charter: &[Parameter]) -> BylawInfo {
        BylawInfo {
            name: "hostile".into(),
            version: "0".into(),
            summary: vec!["misbehaves on purpose".into()],
        }
    }
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
