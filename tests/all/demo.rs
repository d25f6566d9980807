//! `cltd demo` runs its whole story on a real store, and the store verifies afterwards.

use cltd_runtime::{Outcome, ProposalStatus, SystemClock, Trust};

use crate::support::{classic, runtime};

#[test]
fn the_demo_tells_its_story_and_verifies() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut out = Vec::new();
    let report = cltd::demo::run(dir.path(), &classic(), "cltd", &mut out).expect("demo runs");
    let text = String::from_utf8(out).unwrap();
    assert!(report.verified, "{text}");
    for expected in [
        "propose admitting 3 applicants (farah, gus, hana)",
        "farah admitted as a resident member",
        "gus admitted as a community member",
        "hana admitted as a public member",
        "DENIED [window-too-short] under §5 asset lock",
        "resident class: 1 of 3 (33%)",
        "access grant 1 made",
        "is now under the perpetual asset lock",
        "2 of 8 took part (25%)",
        "9 of 9 conformance checks passed",
        "1 past decision(s) would have come out differently",
        "candidate: passed",
        "refused, nothing recorded: proposal 6 is timelocked",
        "the bylaws are amended",
        "dana now holds the role `treasurer`",
        "DENIED [not-treasurer]",
        "DENIED [extractive-use]",
        "licence 1 in force until",
        "selected by the Method of Equal Shares",
        "funded 4000.00 EUR of 5000.00 EUR (1000.00 EUR left unspent)",
        "137.00 EUR moved from `operating` to `reserve`",
        "VERIFIED",
    ] {
        assert!(
            text.contains(expected),
            "demo output lacks `{expected}`:\n{text}"
        );
    }

    // The store is left for inspection: it reopens, and says what the demo said.
    let trust = Trust::open(dir.path(), runtime(), Box::new(SystemClock)).unwrap();
    let s = trust.state();
    assert_eq!(s.size, report.entries);
    assert_eq!(s.members.len(), 8);
    let sale = s
        .proposals
        .values()
        .find(|p| p.proposal.title == "Sell the tenancy records")
        .unwrap();
    assert_eq!(sale.proposal.status, ProposalStatus::Rejected);
    assert_eq!(sale.decision.as_ref().unwrap().outcome, Outcome::Rejected);
    assert!(s.assets.contains_key("tenancy-records"));
    // The amendment lowered the quorum, and the same resolution then passed.
    assert!(
        s.charter
            .iter()
            .any(|p| p.key == "ordinary-quorum" && p.value == "1/4")
    );
    let online: Vec<ProposalStatus> = s
        .proposals
        .values()
        .filter(|p| p.proposal.title.starts_with("Hold general meetings online"))
        .map(|p| p.proposal.status)
        .collect();
    assert_eq!(online, [ProposalStatus::Expired, ProposalStatus::Passed]);
    assert_eq!(s.grants.len(), 1);
    assert!(
        cltd_runtime::verify(trust.database(), &runtime())
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        cltd::keyring::Keyring::new(dir.path())
            .list()
            .unwrap()
            .len(),
        9,
        "member keys (and the licensee's) are kept for the CLI"
    );
    // The economy chapter's ledger: the grant, fees and licence fee in, one expenditure
    // out, the surplus allocated, and the round's three funded projects as budget lines.
    let balances: Vec<(String, u64)> = s.balances();
    assert_eq!(
        balances,
        vec![
            ("community-projects".to_string(), 483_700),
            ("operating".to_string(), 0),
            ("reserve".to_string(), 13_700),
        ]
    );
    let funded: Vec<Option<u32>> = s.lines().map(|l| l.project).collect();
    assert_eq!(funded, vec![Some(1), Some(5), Some(3)]);
    assert_eq!(s.licence(1).map(|l| l.income), Some(25_000));
}
