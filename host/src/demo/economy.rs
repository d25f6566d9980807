//! The demo's chapter on the commons economy: a treasurer elected, a fee schedule, fees
//! paid in, a licence to a research group, a budgeting round of five projects decided by
//! the Method of Equal Shares, spending against a funded project, and a year-end surplus
//! allocation, each decided under the bylaws and recorded in the treasury's ledger.

use anyhow::Result;
use cltd_runtime::{
    Action, Allocation, Appointment, Approval, Choice, LicenceTerms, Parameter, Payment,
    PaymentDirection, ProjectDraft, ProposalBody, RoundTerms, Share,
};

use super::{DAY, Demo, proposal_id};
use crate::wire::{RoundDoc, TreasuryDoc};

/// The research group the trust licenses data to (not a member).
pub(super) const LICENSEE: &str = "housing-lab";

fn income(account: &str, amount: u64, category: &str, from: &str, against: Option<u64>) -> Action {
    Action::RecordPayment(Payment {
        direction: PaymentDirection::Income,
        account: account.into(),
        amount,
        currency: "EUR".into(),
        category: category.into(),
        counterparty: from.into(),
        reference: String::new(),
        against,
    })
}

/// Propose `body` as `name`, have every member in `yes` vote yes, wait out the window, close
/// and execute it; the proposal's number.
fn decide(
    d: &mut Demo<'_>,
    name: &'static str,
    title: &str,
    body: ProposalBody,
    yes: &[&'static str],
) -> Result<u64> {
    let r = d.propose(name, title, body, 7)?;
    let id = proposal_id(&r)?;
    let ballots: Vec<(&'static str, Choice)> = yes.iter().map(|n| (*n, Choice::Yes)).collect();
    d.votes(id, &ballots)?;
    d.wait(7)?;
    d.act(name, Action::Close(id))?;
    d.act(name, Action::Execute(id))?;
    Ok(id)
}

/// Chapter 9.
pub(super) fn chapter(d: &mut Demo<'_>) -> Result<()> {
    d.chapter("9. The commons economy: fees, a licence, a budget round, a surplus")?;
    d.say("The trust keeps its accounts in EUR (cents, never fractions): operating, reserve and community-projects. cltd records decisions about money and who moved it; the money itself moves through the bank.")?;
    let majority = ["amara", "bo", "chen", "farah", "gus"];
    let dana = d.keys["dana"].public().to_vec();
    decide(
        d,
        "amara",
        "Dana keeps the books",
        ProposalBody::Appoint(Appointment {
            member: dana,
            role: "treasurer".into(),
            holds: true,
        }),
        &majority,
    )?;
    let fees = [
        ("membership.free", 0),
        ("membership.standard", 1_200),
        ("licence.public-good", 0),
        ("licence.research", 25_000),
        ("licence.commercial", 100_000),
    ]
    .map(|(k, v): (&str, u64)| Parameter {
        key: k.into(),
        value: v.to_string(),
    })
    .to_vec();
    decide(
        d,
        "chen",
        "Fees and licence prices for 2027",
        ProposalBody::SetFees(fees),
        &majority,
    )?;

    d.say("\nFees paid in: only the treasurer records payments, and the ledger takes only whole cents in the trust's currency.")?;
    d.act(
        "bo",
        income("operating", 1_200, "membership-fee", "farah", None),
    )?;
    d.act(
        "dana",
        income("operating", 1_200, "membership-fee", "farah", None),
    )?;
    d.act(
        "dana",
        income("operating", 1_200, "membership-fee", "gus", None),
    )?;
    d.act(
        "dana",
        income(
            "community-projects",
            500_000,
            "grant",
            "Riverside City Council",
            None,
        ),
    )?;

    d.say("\nA licence to a research group: never for an extractive use, priced by the schedule, and never of personal fields.")?;
    let lab = d.keys[LICENSEE].public().to_vec();
    let terms = |category: &str, price: u64| LicenceTerms {
        licensee: "Riverside University housing lab".into(),
        licensee_key: lab.clone(),
        asset_id: "tenancy-records".into(),
        fields: vec!["rent".into(), "arrears".into(), "repairs".into()],
        category: category.into(),
        purpose: "a study of arrears and repair delays, published only in aggregate".into(),
        term: 365 * DAY,
        price,
    };
    d.propose(
        "gus",
        "Sell the records for ad targeting",
        ProposalBody::License(terms("behavioural-advertising", 100_000)),
        7,
    )?;
    let licence = decide(
        d,
        "farah",
        "Licence the repair data to the housing lab",
        ProposalBody::License(terms("research", 25_000)),
        &majority,
    )?;
    let _ = licence;
    d.act(
        "dana",
        income(
            "operating",
            25_000,
            "licence-fee",
            "Riverside University",
            Some(1),
        ),
    )?;

    budget_round(d)?;

    d.say("\nThe year ends with 274.00 EUR in operating. The charter keeps at least a quarter each for the reserve and for community projects; the members put half in each:")?;
    decide(
        d,
        "amara",
        "Allocate the 2027 surplus",
        ProposalBody::Allocate(Allocation {
            source: "operating".into(),
            shares: vec![
                Share {
                    account: "reserve".into(),
                    amount: 13_700,
                },
                Share {
                    account: "community-projects".into(),
                    amount: 13_700,
                },
            ],
        }),
        &majority,
    )?;
    let doc = TreasuryDoc::of(d.trust.state(), d.trust.now());
    d.say(&format!("\n{}", doc.text()))?;
    Ok(())
}

/// A round of five projects, 5,000.00 EUR from community projects, by equal shares.
fn budget_round(d: &mut Demo<'_>) -> Result<()> {
    d.say("\nA participatory budget: 5,000.00 EUR of the council's grant for community technology. Members submit projects for 7 days, then approve the ones they support for 7 more.")?;
    let r = d.propose(
        "eli",
        "Neighbourhood technology budget 2027",
        ProposalBody::BudgetRound(RoundTerms {
            account: "community-projects".into(),
            budget: 500_000,
            submission: 7 * DAY,
        }),
        14,
    )?;
    let round = proposal_id(&r)?;
    for (name, title, cost) in [
        ("amara", "Wi-Fi in the community hall", 250_000),
        ("chen", "Repair-request app in three languages", 150_000),
        ("farah", "Sensors for damp in ground-floor flats", 120_000),
        ("gus", "Laptop lending library", 100_000),
        ("hana", "Open data training for tenants", 30_000),
    ] {
        d.act(
            name,
            Action::SubmitProject(ProjectDraft {
                round,
                title: title.into(),
                description: String::new(),
                cost,
            }),
        )?;
    }
    d.wait(7)?;
    for (name, projects) in [
        ("amara", vec![1, 2, 4]),
        ("bo", vec![1, 2, 4]),
        ("chen", vec![1, 2, 4]),
        ("dana", vec![1, 2, 4]),
        ("eli", vec![1, 5]),
        ("farah", vec![3, 5]),
        ("gus", vec![3]),
        ("hana", vec![3, 5]),
    ] {
        d.act(name, Action::Approve(Approval { round, projects }))?;
    }
    d.wait(7)?;
    d.act("eli", Action::Close(round))?;
    d.act("eli", Action::Execute(round))?;
    if let Some(doc) = RoundDoc::of(d.trust.state(), round, d.trust.now()) {
        d.say(&format!("\n{}", doc.text()))?;
    }
    d.say("Greedy by approvals would have funded the Wi-Fi, the app and the laptop library, all wanted by the same five members, and nothing the other three asked for. Equal shares gives each voter 625.00 EUR to spend on what they approve: the five pay for the Wi-Fi, the other three for the damp sensors and (with eli) the training; 1,000.00 EUR stays for the next round.")?;
    d.act(
        "dana",
        Action::RecordPayment(Payment {
            direction: PaymentDirection::Expenditure,
            account: "community-projects".into(),
            amount: 30_000,
            currency: "EUR".into(),
            category: cltd_runtime::EXPENDITURE_CATEGORY.into(),
            counterparty: "hana".into(),
            reference: "training invoice 1".into(),
            against: Some(line_of(d, round, 5)),
        }),
    )?;
    Ok(())
}

/// The budget line a round adopted for its project `n` (0 when none: the ledger refuses it).
fn line_of(d: &Demo<'_>, round: u64, n: u32) -> u64 {
    d.trust
        .state()
        .lines()
        .find(|l| l.proposal == round && l.project == Some(n))
        .map_or(0, |l| l.id)
}
