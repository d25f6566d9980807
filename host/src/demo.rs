//! `cltd demo`: a realistic trust, narrated in plain language, on a real store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use cltd_runtime::{
    AccessRequest, Action, Applicant, AssetDraft, AssetKind, Charter, Choice, Clause, Clock,
    DataField, Disposal, Keypair, LockStatus, ManualClock, ProposalBody, ProposalDraft, Receipt,
    SignedTransition, StakeholderClass, SystemClock, Trust, Vote,
};

use crate::keyring::Keyring;
use crate::render;

mod economy;

const DAY: u64 = 86_400;

/// What the demo left behind.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The data directory holding the trust.
    pub data_dir: PathBuf,
    /// The trust id, hex.
    pub trust_id: String,
    /// Log entries written.
    pub entries: u64,
    /// Whether `verify` passed at the end.
    pub verified: bool,
}

struct Demo<'a> {
    trust: Trust,
    clock: Arc<ManualClock>,
    keys: BTreeMap<&'static str, Keypair>,
    out: &'a mut dyn Write,
}

impl Demo<'_> {
    fn say(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    fn chapter(&mut self, title: &str) -> Result<()> {
        writeln!(self.out, "\n== {title} ==")?;
        Ok(())
    }

    /// `action` signed by `name` with their next sequence number.
    fn sign(&self, name: &'static str, action: Action) -> Vec<u8> {
        let kp = &self.keys[name];
        let seq = self.trust.state().next_seq(&kp.member_key());
        SignedTransition::sign(kp, self.trust.id(), seq, action).to_bytes()
    }

    fn act(&mut self, name: &'static str, action: Action) -> Result<Receipt> {
        let line = render::action_text(self.trust.state(), &action);
        let bytes = self.sign(name, action);
        let receipt = self
            .trust
            .submit(&bytes)
            .with_context(|| format!("{name}: {line}"))?;
        writeln!(self.out, "  {name}: {line}")?;
        writeln!(
            self.out,
            "    -> {}",
            render::verdict_text(&render::as_recorded(
                self.trust.state(),
                &receipt.action,
                &receipt.verdict
            ))
        )?;
        for e in &receipt.effects {
            if !matches!(e, cltd_runtime::Effect::VoteRecorded { .. }) {
                writeln!(
                    self.out,
                    "       {}",
                    render::effect_text(self.trust.state(), e)
                )?;
            }
        }
        Ok(receipt)
    }

    fn propose(
        &mut self,
        name: &'static str,
        title: &str,
        body: ProposalBody,
        days: u64,
    ) -> Result<Receipt> {
        self.act(
            name,
            Action::Propose(ProposalDraft {
                body,
                title: title.into(),
                text: String::new(),
                window: days * DAY,
            }),
        )
    }

    fn votes(&mut self, proposal: u64, ballots: &[(&'static str, Choice)]) -> Result<()> {
        let mut line = Vec::new();
        for (name, choice) in ballots {
            let bytes = self.sign(
                name,
                Action::Vote(Vote {
                    proposal,
                    choice: *choice,
                }),
            );
            let r = self
                .trust
                .submit(&bytes)
                .with_context(|| format!("{name} votes on {proposal}"))?;
            if !r.verdict.is_allowed() {
                bail!(
                    "{name}'s vote was denied: {}",
                    render::verdict_text(&r.verdict)
                );
            }
            line.push(format!("{name} {}", choice.name()));
        }
        writeln!(
            self.out,
            "  votes on proposal {proposal}: {}",
            line.join(", ")
        )?;
        Ok(())
    }

    fn wait(&mut self, days: u64) -> Result<()> {
        self.clock.advance(days * DAY);
        writeln!(self.out, "  ... {days} days pass ...")?;
        Ok(())
    }

    fn applicant(&self, name: &'static str, class: StakeholderClass) -> Applicant {
        Applicant {
            key: self.keys[name].public().to_vec(),
            name: name.to_string(),
            class,
        }
    }
}

/// The cast: founders first, then the applicants admitted during the demo.
const FOUNDERS: [(&str, StakeholderClass); 5] = [
    ("amara", StakeholderClass::Resident),
    ("bo", StakeholderClass::Resident),
    ("chen", StakeholderClass::Community),
    ("dana", StakeholderClass::Community),
    ("eli", StakeholderClass::Public),
];
const APPLICANTS: [(&str, StakeholderClass); 3] = [
    ("farah", StakeholderClass::Resident),
    ("gus", StakeholderClass::Community),
    ("hana", StakeholderClass::Public),
];

/// Run the demo in `data_dir` (which must not hold a trust yet) with the classic-clt bylaw
/// `bylaw`, narrating to `out`. Member keys are left in the data directory's keyring so
/// the trust can be inspected and used with the other commands afterwards; `program` is
/// how the closing hints name the `cltd` command.
pub fn run(
    data_dir: &Path,
    bylaw: &[u8],
    program: &str,
    out: &mut dyn Write,
) -> Result<DemoReport> {
    let keyring = Keyring::new(data_dir);
    let mut keys = BTreeMap::new();
    let cast = FOUNDERS
        .iter()
        .chain(APPLICANTS.iter())
        .map(|(name, _)| *name);
    for name in cast.chain([economy::LICENSEE]) {
        let kp = Keypair::generate()?;
        keyring.store(name, &kp)?;
        keys.insert(name, kp);
    }
    let charter = Charter {
        name: "Riverside Digital Land Trust".into(),
        params: vec![],
        founders: FOUNDERS
            .iter()
            .map(|(n, c)| Applicant {
                key: keys[n].public().to_vec(),
                name: n.to_string(),
                class: *c,
            })
            .collect(),
        assets: vec![
            AssetDraft {
                id: "tenancy-records".into(),
                kind: AssetKind::Dataset,
                lock: LockStatus::Perpetual,
                description: "Ten years of tenancy and repair records, held for the tenants".into(),
                fields: ["tenant-name", "address", "rent", "arrears", "repairs"]
                    .map(|f| DataField {
                        name: f.into(),
                        personal: matches!(f, "tenant-name" | "address"),
                    })
                    .to_vec(),
            },
            AssetDraft {
                id: "riverside.coop".into(),
                kind: AssetKind::Domain,
                lock: LockStatus::Perpetual,
                description: "The trust's domain name".into(),
                fields: vec![],
            },
        ],
        entrenched: Clause::ALL.to_vec(),
        treasury: Some(cltd_runtime::TreasuryCharter::new("EUR")),
    };
    let started = SystemClock.now();
    let clock = Arc::new(ManualClock::new(started));
    let runtime = crate::setup::runtime()?;
    let trust = Trust::create(
        data_dir,
        runtime.clone(),
        charter,
        bylaw,
        Box::new(clock.clone()),
    )?;
    let mut d = Demo {
        trust,
        clock,
        keys,
        out,
    };

    d.chapter("1. Founding")?;
    let info = d
        .trust
        .runtime()
        .describe(&d.trust.state().module, &d.trust.state().charter)?;
    d.say(&format!(
        "The Riverside Digital Land Trust is founded in {} (trust id {}).",
        data_dir.display(),
        d.trust.id_hex()
    ))?;
    d.say("Founders: amara and bo (residents), chen and dana (community), eli (public interest).")?;
    d.say("It holds two assets under the perpetual asset lock: the tenancy-records dataset and the riverside.coop domain.")?;
    d.say(&format!(
        "Its bylaws are the {} component {}, which say:",
        info.name,
        hex::encode(d.trust.state().module)
    ))?;
    for line in &info.summary {
        d.say(&format!("    {line}"))?;
    }

    d.chapter("2. Admitting members of all three classes")?;
    d.say("Membership is open: after a neighbourhood meeting three applicants ask to join, and the members admit them together by one ordinary resolution (a membership drive: all of them, or none).")?;
    let applicants = APPLICANTS
        .iter()
        .map(|(name, class)| d.applicant(name, *class))
        .collect();
    let r = d.propose(
        "amara",
        "Admit the applicants from the spring meeting",
        ProposalBody::AdmitMembers(applicants),
        7,
    )?;
    let id = proposal_id(&r)?;
    d.votes(
        id,
        &[
            ("amara", Choice::Yes),
            ("bo", Choice::Yes),
            ("chen", Choice::Yes),
            ("eli", Choice::Abstain),
        ],
    )?;
    d.wait(7)?;
    d.act("chen", Action::Close(id))?;
    d.act("chen", Action::Execute(id))?;
    let c = d.trust.state().class_counts();
    d.say(&format!(
        "The trust now has {} residents, {} community and {} public members.",
        c.resident, c.community, c.public
    ))?;

    d.chapter("3. An ordinary resolution")?;
    let r = d.propose(
        "dana",
        "Publish the dataset's schema under CC-BY 4.0",
        ProposalBody::Ordinary,
        7,
    )?;
    let id = proposal_id(&r)?;
    d.votes(
        id,
        &[
            ("dana", Choice::Yes),
            ("farah", Choice::Yes),
            ("gus", Choice::Yes),
            ("bo", Choice::No),
            ("hana", Choice::Abstain),
        ],
    )?;
    d.wait(7)?;
    d.act("dana", Action::Close(id))?;

    d.chapter("4. The asset lock holds")?;
    d.say(
        "A data broker offers to buy the tenancy records. chen first proposes a quick 7-day vote:",
    )?;
    let sale = ProposalBody::DisposeAsset(Disposal {
        asset_id: "tenancy-records".into(),
        recipient: "CityScape Analytics Ltd (sale)".into(),
    });
    d.propose("chen", "Sell the tenancy records", sale.clone(), 7)?;
    d.say("The bylaws refuse, and the refusal is itself logged. chen proposes again with a 14-day window:")?;
    let r = d.propose("chen", "Sell the tenancy records", sale, 14)?;
    let id = proposal_id(&r)?;
    d.votes(
        id,
        &[
            ("amara", Choice::Yes),
            ("bo", Choice::No),
            ("farah", Choice::No),
            ("chen", Choice::Yes),
            ("dana", Choice::Yes),
            ("gus", Choice::Yes),
            ("eli", Choice::Yes),
            ("hana", Choice::Yes),
        ],
    )?;
    d.wait(14)?;
    let r = d.act("chen", Action::Close(id))?;
    d.say("Six of eight votes in favour is 75% overall, but the residents, whose data it is, did not agree:")?;
    d.say(&format!(
        "    {}",
        r.verdict
            .decision()
            .map(|x| x.explanation.clone())
            .unwrap_or_default()
    ))?;

    d.chapter("5. A data-access grant for a stated purpose")?;
    let dana = d.keys["dana"].public().to_vec();
    let r = d.propose(
        "dana",
        "Rent-arrears study for the tenants' union",
        ProposalBody::GrantAccess(AccessRequest {
            grantee: dana,
            asset_id: "tenancy-records".into(),
            fields: vec!["rent".into(), "arrears".into()],
            purpose: "aggregate study of rent arrears for the tenants' union; no individual records published".into(),
            duration: 180 * DAY,
        }),
        7,
    )?;
    let id = proposal_id(&r)?;
    d.votes(
        id,
        &[
            ("amara", Choice::Yes),
            ("bo", Choice::Yes),
            ("farah", Choice::Yes),
            ("eli", Choice::Yes),
            ("gus", Choice::No),
        ],
    )?;
    d.wait(7)?;
    d.act("dana", Action::Close(id))?;
    d.act("dana", Action::Execute(id))?;

    d.chapter("6. Bringing a new asset under the lock")?;
    d.act(
        "gus",
        Action::RegisterAsset(cltd_runtime::AssetDraft {
            id: "tenant-portal".into(),
            kind: AssetKind::CodeRepository,
            lock: LockStatus::Unlocked,
            description: "Source code of the tenants' repair-request portal".into(),
            fields: vec![],
        }),
    )?;
    d.act("gus", Action::LockAsset("tenant-portal".into()))?;

    amend(&mut d)?;
    economy::chapter(&mut d)?;

    d.chapter("10. Proving the history")?;
    let report = d.trust.verify()?;
    let entries = d.trust.state().size;
    d.say(&format!(
        "verify replayed {} log entries from genesis, each under the bylaw module and charter that judged it: {}",
        report.checked,
        if report.is_ok() {
            "VERIFIED".to_string()
        } else {
            format!("FAILED at {:?}", report.divergence)
        }
    ))?;
    d.say(&format!(
        "  {} transitions allowed, {} denied; head {}",
        report.allowed,
        report.denied,
        hex::encode(report.head)
    ))?;
    d.say(&format!(
        "\nThe demo simulated {} days of the trust's life, up to {}. Host time never goes backwards, so later\ncommands on this trust are stamped from then on.",
        (d.clock.now() - started) / DAY,
        crate::render::when(d.clock.now())
    ))?;
    d.say(&format!(
        "\nThe trust is in {}. Look around with:\n  {program} --data-dir {0} show\n  {program} --data-dir {0} log\n  {program} --data-dir {0} verify\n  {program} --data-dir {0} amend show 8\n  {program} --data-dir {0} propose --as bo --title \"Open the repair data\" ordinary\n  {program} --data-dir {0} serve     # the dashboard at http://127.0.0.1:7300/: vote there with a key file from {0}/keys\n  (every verb: {program} --help)",
        data_dir.display()
    ))?;
    Ok(DemoReport {
        data_dir: data_dir.to_path_buf(),
        trust_id: d.trust.id_hex(),
        entries,
        verified: report.is_ok(),
    })
}

/// Chapters 7 and 8: a resolution lost to the quorum, and the amendment that lowers it.
fn amend(d: &mut Demo<'_>) -> Result<()> {
    d.chapter("7. A resolution lost to the quorum")?;
    let online = |d: &mut Demo<'_>, title: &str| -> Result<u64> {
        let r = d.propose("eli", title, ProposalBody::Ordinary, 7)?;
        let id = proposal_id(&r)?;
        d.votes(id, &[("eli", Choice::Yes), ("hana", Choice::Yes)])?;
        d.wait(7)?;
        d.act("eli", Action::Close(id))?;
        Ok(id)
    };
    online(d, "Hold general meetings online as well")?;
    d.say("Two of eight members voted, both in favour: a third of the electorate is a high bar for everyday business.")?;

    d.chapter("8. Amending the bylaws")?;
    let module = d.trust.state().module;
    let mut charter = d.trust.state().charter.clone();
    charter.retain(|p| p.key != "ordinary-quorum");
    charter.push(cltd_runtime::Parameter {
        key: "ordinary-quorum".into(),
        value: "1/4".into(),
    });
    d.say("dana drafts an amendment: the same bylaw module, with the ordinary quorum lowered from 1/3 to 1/4.")?;
    d.say("Before the vote opens, the runtime replays the whole history under the amended rules (a dry run) and")?;
    d.say("checks them against the entrenched clauses. Every member can read the impact preview:")?;
    let preview = d.trust.preview_amendment(&module, &charter)?;
    for line in crate::render::preview_text(d.trust.state(), &preview).lines() {
        d.say(&format!("    {line}"))?;
    }
    let r = d.act(
        "dana",
        Action::Propose(ProposalDraft {
            body: ProposalBody::AmendBylaws(cltd_runtime::Amendment {
                module: hex::encode(module),
                charter,
                releases: Vec::new(),
            }),
            title: "Lower the ordinary quorum to one quarter".into(),
            text: "Everyday resolutions keep failing for turnout alone.".into(),
            window: 30 * DAY,
        }),
    )?;
    let id = proposal_id(&r)?;
    d.votes(
        id,
        &[
            ("amara", Choice::Yes),
            ("chen", Choice::Yes),
            ("dana", Choice::Yes),
            ("eli", Choice::Yes),
            ("farah", Choice::Yes),
            ("hana", Choice::Yes),
            ("bo", Choice::No),
        ],
    )?;
    d.wait(30)?;
    d.act("dana", Action::Close(id))?;
    d.say("dana tries to put it in force at once:")?;
    let bytes = d.sign("dana", Action::Execute(id));
    match d.trust.submit(&bytes) {
        Err(cltd_runtime::Error::Refused(why)) => {
            d.say(&format!("    refused, nothing recorded: {why}"))?
        }
        Ok(r) => bail!(
            "the timelock did not hold: {}",
            render::verdict_text(&r.verdict)
        ),
        Err(e) => return Err(e.into()),
    }
    d.wait(7)?;
    d.act("dana", Action::Execute(id))?;
    d.say("The same resolution, proposed again, now passes under the amended rules:")?;
    online(d, "Hold general meetings online as well (again)")?;
    Ok(())
}

fn proposal_id(receipt: &Receipt) -> Result<u64> {
    receipt
        .effects
        .iter()
        .find_map(|e| match e {
            cltd_runtime::Effect::ProposalOpened { proposal, .. } => Some(*proposal),
            _ => None,
        })
        .with_context(|| {
            format!(
                "the proposal was not opened: {}",
                render::verdict_text(&receipt.verdict)
            )
        })
}
