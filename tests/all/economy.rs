//! The commons economy from outside: the ledger's invariants attacked with hostile
//! payments (each refused without trace), the bylaw's authority over who records them, a
//! budgeting round through its phases to spending, licences and their fees, and `verify`
//! and `audit verify` recomputing every balance (a tampered balance is found).

use cltd_runtime::{
    Action, Allocation, Appointment, Approval, AuditOptions, Choice, LicenceTerms, Parameter,
    Payment, PaymentDirection, ProjectDraft, ProposalBody, ProposalDraft, RefusalError, RoundTerms,
    Share, Spending, Vote, audit,
};
use redb::{Database, ReadableTable, TableDefinition};

use crate::support::{DAY, Harness, runtime};

const ECONOMY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("economy");
/// The founders who vote a proposal through (a majority of the nine, in every class).
const MAJORITY: [&str; 6] = ["r1", "r2", "c1", "c2", "p1", "p2"];

fn propose(h: &mut Harness, name: &str, body: ProposalBody, days: u64) -> u64 {
    let r = h.allowed(
        name,
        Action::Propose(ProposalDraft {
            body,
            title: "t".into(),
            text: String::new(),
            window: days * DAY,
        }),
    );
    match r.effects.first() {
        Some(cltd_runtime::Effect::ProposalOpened { proposal, .. }) => *proposal,
        other => panic!("no proposal opened: {other:?}"),
    }
}

/// Propose, vote through, close and execute `body` as r1.
fn pass(h: &mut Harness, body: ProposalBody) -> u64 {
    let id = propose(h, "r1", body, 7);
    for v in MAJORITY {
        h.allowed(
            v,
            Action::Vote(Vote {
                proposal: id,
                choice: Choice::Yes,
            }),
        );
    }
    h.wait_days(7);
    h.allowed("r1", Action::Close(id));
    h.allowed("r1", Action::Execute(id));
    id
}

fn payment(
    direction: PaymentDirection,
    account: &str,
    amount: u64,
    category: &str,
    against: Option<u64>,
) -> Action {
    Action::RecordPayment(Payment {
        direction,
        account: account.into(),
        amount,
        currency: "EUR".into(),
        category: category.into(),
        counterparty: "someone".into(),
        reference: String::new(),
        against,
    })
}

fn income(account: &str, amount: u64) -> Action {
    payment(PaymentDirection::Income, account, amount, "donation", None)
}

fn spend(account: &str, amount: u64, line: u64) -> Action {
    payment(
        PaymentDirection::Expenditure,
        account,
        amount,
        "budget-line",
        Some(line),
    )
}

/// A classic trust whose r1 holds the treasurer role, with 100.00 EUR in operating and a
/// budget line (1) of 60.00 EUR from it.
fn treasury() -> Harness {
    let mut h = Harness::classic();
    let r1 = h.pk("r1");
    pass(
        &mut h,
        ProposalBody::Appoint(Appointment {
            member: r1,
            role: "treasurer".into(),
            holds: true,
        }),
    );
    h.allowed("r1", income("operating", 10_000));
    pass(
        &mut h,
        ProposalBody::Spend(Spending {
            account: "operating".into(),
            amount: 6_000,
            payee: "Repair Co".into(),
            purpose: "disks".into(),
        }),
    );
    assert_eq!(h.trust.state().balance("operating"), Some(10_000));
    assert_eq!(h.trust.state().line(1).map(|l| l.amount), Some(6_000));
    h
}

fn ledger_code(e: &RefusalError) -> &'static str {
    e.code()
}

#[test]
fn the_ledger_refuses_without_trace_what_it_cannot_hold() {
    let mut h = treasury();
    // Each of these is refused by the host before the bylaw is asked, and `refused`
    // checks that the store and the state are byte-for-byte as they were.
    let wrong_currency = Action::RecordPayment(Payment {
        currency: "USD".into(),
        ..match income("operating", 100) {
            Action::RecordPayment(p) => p,
            _ => unreachable!(),
        }
    });
    let cases: Vec<(&str, Action, &str)> = vec![
        ("another currency", wrong_currency, "ledger"),
        ("an unknown account", income("slush-fund", 100), "ledger"),
        ("nothing at all", income("operating", 0), "ledger"),
        (
            "an unknown kind of income",
            payment(
                PaymentDirection::Income,
                "operating",
                100,
                "gift-in-kind",
                None,
            ),
            "ledger",
        ),
        (
            "an expenditure naming no line",
            payment(
                PaymentDirection::Expenditure,
                "operating",
                100,
                "budget-line",
                None,
            ),
            "ledger",
        ),
        (
            "a line that does not exist",
            spend("operating", 100, 9),
            "ledger",
        ),
        (
            "more than the line holds",
            spend("operating", 6_001, 1),
            "ledger",
        ),
        (
            "from another account than the line's",
            spend("reserve", 100, 1),
            "ledger",
        ),
        (
            "a licence fee for no licence",
            payment(
                PaymentDirection::Income,
                "operating",
                100,
                "licence-fee",
                Some(1),
            ),
            "ledger",
        ),
        (
            "income that overflows the account",
            income("operating", u64::MAX),
            "ledger",
        ),
    ];
    for (what, action, code) in cases {
        let e = h.refused("r1", action);
        assert_eq!(ledger_code(&e), code, "{what}: {e}");
    }
    // A line may be spent in parts, never beyond its amount: 60.00 then nothing more.
    h.allowed("r1", spend("operating", 4_000, 1));
    h.allowed("r1", spend("operating", 2_000, 1));
    let e = h.refused("r1", spend("operating", 1, 1));
    assert!(e.to_string().contains("would overspend"), "{e}");
    assert_eq!(h.trust.state().balance("operating"), Some(4_000));
    // A line larger than the account: the account never goes below zero.
    pass(
        &mut h,
        ProposalBody::Spend(Spending {
            account: "operating".into(),
            amount: 1_000_000,
            payee: "x".into(),
            purpose: "y".into(),
        }),
    );
    let e = h.refused("r1", spend("operating", 4_001, 2));
    assert!(e.to_string().contains("leave it negative"), "{e}");
    h.allowed("r1", spend("operating", 4_000, 2));
    assert_eq!(h.trust.state().balance("operating"), Some(0));
    assert!(h.trust.verify().unwrap().is_ok());
}

#[test]
fn only_the_bylaws_treasurer_records_payments_and_a_denial_changes_only_the_sequence() {
    let mut h = treasury();
    let before = h.trust.state().balances();
    assert_eq!(h.denied("c1", income("operating", 500)), "not-treasurer");
    assert_eq!(h.trust.state().balances(), before);
    assert_eq!(h.trust.state().postings().count(), 1);
    // A stranger's payment never reaches the log.
    let size = h.trust.state().size;
    let e = h.refused("stranger", income("operating", 500));
    assert_eq!(e.code(), "not-a-member");
    assert_eq!(h.trust.state().size, size);
    // The role is taken away by resolution; r1's next payment is denied.
    let r1 = h.pk("r1");
    pass(
        &mut h,
        ProposalBody::Appoint(Appointment {
            member: r1,
            role: "treasurer".into(),
            holds: false,
        }),
    );
    assert_eq!(h.denied("r1", income("operating", 500)), "not-treasurer");
}

#[test]
fn an_allocation_moves_money_only_if_the_source_covers_it_and_keeps_minimum_shares() {
    let mut h = treasury();
    let alloc = |reserve, projects| {
        ProposalBody::Allocate(Allocation {
            source: "operating".into(),
            shares: vec![
                Share {
                    account: "reserve".into(),
                    amount: reserve,
                },
                Share {
                    account: "community-projects".into(),
                    amount: projects,
                },
            ],
        })
    };
    let draft = |body| {
        Action::Propose(ProposalDraft {
            body,
            title: "t".into(),
            text: String::new(),
            window: 7 * DAY,
        })
    };
    assert_eq!(
        h.denied("r1", draft(alloc(1_000, 9_000))),
        "below-minimum-share"
    );
    // Moving money back into its source, or naming an account twice, is refused.
    let e = h.refused(
        "r1",
        draft(ProposalBody::Allocate(Allocation {
            source: "operating".into(),
            shares: vec![Share {
                account: "operating".into(),
                amount: 1,
            }],
        })),
    );
    assert_eq!(e.code(), "invalid");
    pass(&mut h, alloc(5_000, 5_000));
    let s = h.trust.state();
    assert_eq!(s.balance("operating"), Some(0));
    assert_eq!(s.balance("reserve"), Some(5_000));
    assert_eq!(s.balance("community-projects"), Some(5_000));
    // Passed while the money was there, executed after it was gone: refused at execution.
    let id = propose(&mut h, "r1", alloc(2_500, 2_500), 7);
    for v in MAJORITY {
        h.allowed(
            v,
            Action::Vote(Vote {
                proposal: id,
                choice: Choice::Yes,
            }),
        );
    }
    h.wait_days(7);
    h.allowed("r1", Action::Close(id));
    let e = h.refused("r1", Action::Execute(id));
    assert_eq!(e.code(), "ledger", "{e}");
}

#[test]
fn a_budgeting_round_keeps_its_phases_and_funds_what_equal_shares_selects() {
    let mut h = treasury();
    h.allowed("r1", income("community-projects", 100_000));
    let round = propose(
        &mut h,
        "c1",
        ProposalBody::BudgetRound(RoundTerms {
            account: "community-projects".into(),
            budget: 100_000,
            submission: 7 * DAY,
        }),
        14,
    );
    let submit = |title: &str, cost| {
        Action::SubmitProject(ProjectDraft {
            round,
            title: title.into(),
            description: String::new(),
            cost,
        })
    };
    let approve = |projects: Vec<u32>| Action::Approve(Approval { round, projects });
    // No ballots while projects are taken, no project over the whole budget, no yes/no votes.
    assert_eq!(h.refused("r1", approve(vec![1])).code(), "invalid");
    assert_eq!(
        h.refused("r1", submit("too big", 100_001)).code(),
        "invalid"
    );
    assert_eq!(
        h.refused(
            "r1",
            Action::Vote(Vote {
                proposal: round,
                choice: Choice::Yes
            })
        )
        .code(),
        "invalid"
    );
    // The instance of equalshares.net's example election (see classic-clt's scenario 11).
    h.allowed("r1", submit("p1", 5_000));
    h.allowed("c1", submit("p2", 10_000));
    h.allowed("p1", submit("p3", 85_000));
    h.wait_days(7);
    assert_eq!(h.refused("r2", submit("late", 100)).code(), "invalid");
    h.allowed("r1", approve(vec![1, 2]));
    h.allowed("c1", approve(vec![1]));
    h.allowed("p1", approve(vec![3]));
    h.allowed("r2", approve(vec![1, 2, 3]));
    assert_eq!(h.refused("r1", approve(vec![2])).code(), "invalid");
    assert_eq!(h.refused("c2", approve(vec![4])).code(), "invalid");
    assert_eq!(h.refused("c2", approve(vec![1, 1])).code(), "invalid");
    h.wait_days(7);
    let r = h.allowed("r1", Action::Close(round));
    let d = r.verdict.decision().unwrap();
    assert_eq!(d.funded, vec![1, 2], "{}", d.explanation);
    h.allowed("r1", Action::Execute(round));
    let s = h.trust.state();
    let lines: Vec<(u64, Option<u32>)> = s
        .lines()
        .filter(|l| l.proposal == round)
        .map(|l| (l.amount, l.project))
        .collect();
    assert_eq!(lines, vec![(5_000, Some(1)), (10_000, Some(2))]);
    let doc = cltd::wire::RoundDoc::of(s, round, h.trust.now()).unwrap();
    assert_eq!(doc.leftover, Some(85_000));
    assert_eq!(doc.projects[2].funded, Some(false));
    assert!(
        doc.projects[2]
            .why
            .as_deref()
            .is_some_and(|w| w.contains("not funded")),
        "{doc:?}"
    );
}

#[test]
fn a_licence_is_recorded_with_its_fees_and_ends_by_revocation() {
    let mut h = treasury();
    let fees = [("membership.free", "0"), ("licence.research", "25000")]
        .map(|(k, v)| Parameter {
            key: k.into(),
            value: v.into(),
        })
        .to_vec();
    pass(&mut h, ProposalBody::SetFees(fees.clone()));
    assert_eq!(h.trust.state().fees(), fees.as_slice());
    let lab = h.pk("housing-lab");
    let terms = |category: &str, price| LicenceTerms {
        licensee: "housing lab".into(),
        licensee_key: lab.clone(),
        asset_id: "tenancy-data".into(),
        fields: vec![],
        category: category.into(),
        purpose: "study".into(),
        term: 365 * DAY,
        price,
    };
    let draft = |body| {
        Action::Propose(ProposalDraft {
            body,
            title: "t".into(),
            text: String::new(),
            window: 7 * DAY,
        })
    };
    assert_eq!(
        h.denied("r1", draft(ProposalBody::License(terms("surveillance", 0)))),
        "extractive-use"
    );
    assert_eq!(
        h.denied("r1", draft(ProposalBody::License(terms("research", 100)))),
        "wrong-price"
    );
    // A licence goes to a third party, never to a member.
    let mut member = terms("research", 25_000);
    member.licensee_key = h.pk("c2");
    assert_eq!(
        h.refused("r1", draft(ProposalBody::License(member))).code(),
        "invalid"
    );
    pass(&mut h, ProposalBody::License(terms("research", 25_000)));
    h.allowed(
        "r1",
        payment(
            PaymentDirection::Income,
            "operating",
            25_000,
            "licence-fee",
            Some(1),
        ),
    );
    let now = h.trust.now();
    let l = h.trust.state().licence(1).unwrap().clone();
    assert!(l.in_force(now));
    assert_eq!(l.income, 25_000);
    pass(&mut h, ProposalBody::RevokeLicence(1));
    assert!(!h.trust.state().licence(1).unwrap().in_force(now));
    assert_eq!(
        h.refused("r1", draft(ProposalBody::RevokeLicence(1)))
            .code(),
        "ledger"
    );
}

#[test]
fn verify_and_audit_recompute_every_balance_and_name_a_tampered_one() {
    let mut h = treasury();
    h.allowed("r1", spend("operating", 1_000, 1));
    assert!(h.trust.verify().unwrap().is_ok());
    let bundle = h.trust.export().unwrap().to_bytes();
    let report = audit(
        &bundle,
        &runtime(),
        AuditOptions {
            reexecute: true,
            ..AuditOptions::default()
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert!(report.is_ok(), "{:?}", report.failure);
    // Give the operating account a cent more in the store: verify replays the log, gets the
    // balance the payments give, and names the difference.
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep, trust, ..
    } = h;
    drop(trust);
    {
        let db = Database::open(dir.join("trust.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(ECONOMY).unwrap();
            let key =
                postcard::to_stdvec(&cltd_runtime::EconKey::Account("operating".into())).unwrap();
            let stored = table.get(key.as_slice()).unwrap().unwrap().value().to_vec();
            let cltd_runtime::EconRecord::Balance(b) =
                postcard::from_bytes::<cltd_runtime::EconRecord>(&stored).unwrap()
            else {
                panic!("not a balance")
            };
            let more = postcard::to_stdvec(&cltd_runtime::EconRecord::Balance(b + 1)).unwrap();
            table.insert(key.as_slice(), more.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let db = Database::open(dir.join("trust.redb")).unwrap();
    let report = cltd_runtime::verify(&db, &runtime()).unwrap();
    let d = report.divergence.expect("the tampered balance is found");
    assert!(d.reason.contains("treasury"), "{d}");
    drop(keep);
}

#[test]
fn the_command_line_records_and_shows_the_treasury_in_exact_amounts() {
    use crate::cli::cltd;
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    for m in ["amara", "bo", "chen"] {
        assert_eq!(cltd(d, &["keys", "new", m]).code, 0);
    }
    let r = cltd(
        d,
        &[
            "init",
            "--name",
            "Riverside",
            "--currency",
            "EUR",
            "--account",
            "patronage",
            "--founder",
            "amara:resident",
            "--founder",
            "bo:community",
            "--founder",
            "chen:public",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let r = cltd(d, &["treasury", "show"]);
    assert!(r.out.contains("patronage"), "{}", r.out);
    // Nobody holds the treasurer role: the bylaw denies (exit 2), the ledger is unchanged.
    let r = cltd(
        d,
        &[
            "treasury",
            "receive",
            "--as",
            "bo",
            "--amount",
            "12.50",
            "--category",
            "donation",
            "--from",
            "a neighbour",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_DENIED, "{}{}", r.out, r.err);
    assert!(r.out.contains("not-treasurer"), "{}", r.out);
    // A fraction of a cent is refused before anything is signed.
    let r = cltd(
        d,
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "x",
            "spend",
            "--account",
            "operating",
            "--amount",
            "12.505",
            "--payee",
            "p",
            "--purpose",
            "q",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("fraction of a minor unit"), "{}", r.err);
    let size = |d: &std::path::Path| -> u64 {
        let v: serde_json::Value = serde_json::from_str(&cltd(d, &["--json", "show"]).out).unwrap();
        v["log_size"].as_u64().unwrap()
    };
    let before = size(d);
    // A round opens; its page and `budget show` say it takes projects.
    let r = cltd(
        d,
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Tech budget",
            "--days",
            "14",
            "budget-round",
            "--account",
            "community-projects",
            "--budget",
            "5000",
            "--submission-days",
            "7",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let r = cltd(
        d,
        &[
            "budget", "submit", "--as", "bo", "--round", "1", "--title", "Wi-Fi", "--cost", "2500",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let r = cltd(d, &["--json", "budget", "show", "1"]);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["phase"], "submission");
    assert_eq!(v["projects"][0]["cost"], 250_000);
    assert_eq!(v["projects"][0]["cost_text"], "2500.00 EUR");
    assert_eq!(size(d), before + 2);
    let r = cltd(d, &["budget", "show", "7"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    // Served: the treasury and the round as JSON, a page for each.
    let server = crate::api::Server::start(d);
    let (code, body) = server.get("/v1/trusts");
    assert_eq!(code, 200, "{body}");
    let trusts: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = trusts["trusts"][0]["id"].as_str().unwrap().to_string();
    let (code, body) = server.get(&format!("/v1/trusts/{id}/treasury"));
    assert_eq!(code, 200, "{body}");
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(t["currency"], "EUR");
    assert_eq!(t["accounts"].as_array().unwrap().len(), 4);
    let (code, body) = server.get(&format!("/v1/trusts/{id}/rounds/1"));
    assert_eq!(code, 200, "{body}");
    let (code, _) = server.get(&format!("/v1/trusts/{id}/rounds/9"));
    assert_eq!(code, 404);
    let (code, page) = server.get(&format!("/trusts/{id}/rounds/1"));
    assert_eq!(code, 200);
    assert!(
        page.contains("Wi-Fi") && page.contains("class=\"bar\""),
        "{page}"
    );
    let (code, page) = server.get(&format!("/trusts/{id}/treasury"));
    assert_eq!(code, 200);
    assert!(page.contains("patronage"), "{page}");
}
