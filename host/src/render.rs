//! Human text and JSON views of a trust, its proposals and its log.

use cltd_runtime::{
    Action, Effect, Entry, Grant, ImpactPreview, Parameter, ProposalBody, ProposalState,
    StakeholderClass, TrustState, Verdict,
};

/// Names members by key: the member's display name, else a short key.
pub fn who(state: &TrustState, key: impl AsRef<[u8]>) -> String {
    state.who(key)
}

/// A one-line description of an action.
pub fn action_text(state: &TrustState, action: &Action) -> String {
    match action {
        Action::Propose(d) => format!(
            "propose {} \"{}\" ({} days)",
            body_text(state, &d.body),
            d.title,
            d.window / 86_400
        ),
        Action::Vote(v) => format!("vote {} on proposal {}", v.choice.name(), v.proposal),
        Action::Close(id) => format!("close proposal {id}"),
        Action::Execute(id) => format!("execute proposal {id}"),
        Action::Withdraw(id) => format!("withdraw proposal {id}"),
        Action::RegisterAsset(a) => format!(
            "register {} asset `{}` ({})",
            a.kind.name(),
            a.id,
            a.lock.name()
        ),
        Action::LockAsset(id) => format!("lock asset `{id}`"),
        Action::Delegate(d) => match &d.delegate {
            Some(to) => format!(
                "delegate my vote to {} until {}",
                who(state, to),
                when(d.until)
            ),
            None => "withdraw my delegation".into(),
        },
        Action::RecordPayment(p) => {
            let (what, way) = match p.direction {
                cltd_runtime::PaymentDirection::Income => ("income", "from"),
                cltd_runtime::PaymentDirection::Expenditure => ("expenditure", "to"),
            };
            let against = match (p.direction, p.against) {
                (cltd_runtime::PaymentDirection::Expenditure, Some(n)) => {
                    format!(" against budget line {n}")
                }
                (_, Some(n)) => format!(" for licence {n}"),
                _ => String::new(),
            };
            format!(
                "record {what} of {} ({}) in `{}`, {way} {}{against}",
                cltd_runtime::money(p.amount, &p.currency),
                p.category,
                p.account,
                p.counterparty
            )
        }
        Action::SubmitProject(p) => format!(
            "submit project \"{}\" costing {} to round {}",
            p.title,
            cash(state, p.cost),
            p.round
        ),
        Action::Approve(a) => format!(
            "approve projects {} in round {}",
            a.projects
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            a.round
        ),
    }
}

/// An amount in the trust's currency (minor units written as `12.50 EUR`).
pub fn cash(state: &TrustState, amount: u64) -> String {
    cltd_runtime::money(amount, state.currency().unwrap_or("units"))
}

/// A short description of what a proposal would do.
pub fn body_text(state: &TrustState, body: &ProposalBody) -> String {
    match body {
        ProposalBody::Ordinary => "an ordinary resolution".into(),
        ProposalBody::AdmitMember(a) => {
            format!("admitting {} as a {} member", a.name, a.class.name())
        }
        ProposalBody::AdmitMembers(list) => applicants_text(list),
        ProposalBody::RemoveMember(k) => format!("removing {}", who(state, k)),
        ProposalBody::DisposeAsset(d) => {
            format!("disposing of `{}` to {}", d.asset_id, d.recipient)
        }
        ProposalBody::GrantAccess(g) => format!(
            "granting {} access to {} of `{}` for {} days, for: {}",
            who(state, &g.grantee),
            fields_text(&g.fields),
            g.asset_id,
            g.duration / 86_400,
            g.purpose
        ),
        ProposalBody::Resolution(r) => {
            let terms: Vec<String> = r
                .terms
                .iter()
                .map(|p| format!("{}={}", p.key, p.value))
                .collect();
            format!("a {} resolution [{}]", r.kind, terms.join(", "))
        }
        ProposalBody::AmendBylaws(a) => {
            let params: Vec<String> = a
                .charter
                .iter()
                .map(|p| format!("{}={}", p.key, p.value))
                .collect();
            let mut text = format!(
                "amending the bylaws: module {} with charter [{}]",
                short_hex(&a.module),
                params.join(", ")
            );
            if !a.releases.is_empty() {
                text.push_str(&format!(", releasing entrenched {}", a.releases.join(", ")));
            }
            text
        }
        ProposalBody::Appoint(a) => format!(
            "{} {} the role `{}`",
            if a.holds { "giving" } else { "taking from" },
            who(state, &a.member),
            a.role
        ),
        ProposalBody::Spend(x) => format!(
            "a budget line of {} from `{}` to {} for: {}",
            cash(state, x.amount),
            x.account,
            x.payee,
            x.purpose
        ),
        ProposalBody::Allocate(a) => format!(
            "allocating from `{}`: {}",
            a.source,
            a.shares
                .iter()
                .map(|x| format!("{} to `{}`", cash(state, x.amount), x.account))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ProposalBody::BudgetRound(r) => format!(
            "a budgeting round of {} from `{}` (projects for {} days, then approval ballots)",
            cash(state, r.budget),
            r.account,
            r.submission / 86_400
        ),
        ProposalBody::License(l) => format!(
            "licensing {} of `{}` to {} ({} use, {} days, {}) for: {}",
            fields_text(&l.fields),
            l.asset_id,
            l.licensee,
            l.category,
            l.term / 86_400,
            cash(state, l.price),
            l.purpose
        ),
        ProposalBody::RevokeLicence(n) => format!("revoking licence {n}"),
        ProposalBody::SetFees(fees) => format!(
            "setting the fee schedule: {}",
            fees.iter()
                .map(|f| {
                    let n = f.value.parse().unwrap_or(0);
                    format!("{} {}", f.key, cash(state, n))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A list of applicants in a line: how many, the first few names, how many of each class.
fn applicants_text(list: &[cltd_runtime::Applicant]) -> String {
    const NAMED: usize = 3;
    let mut names: Vec<&str> = list.iter().take(NAMED).map(|a| a.name.as_str()).collect();
    let more = list.len().saturating_sub(NAMED);
    let more = (more > 0).then(|| format!("{more} more"));
    names.extend(more.as_deref());
    let mut classes: std::collections::BTreeMap<&str, usize> = Default::default();
    for a in list {
        *classes.entry(a.class.name()).or_default() += 1;
    }
    let classes: Vec<String> = classes.iter().map(|(c, n)| format!("{n} {c}")).collect();
    format!(
        "admitting {} {} ({}): {}",
        list.len(),
        if list.len() == 1 {
            "applicant"
        } else {
            "applicants"
        },
        names.join(", "),
        classes.join(", ")
    )
}

/// A dataset's fields in words, personal ones marked: `postcode (personal), asthma`.
/// Each field is its name and whether it holds personal data.
pub fn dataset_fields<'a>(fields: impl IntoIterator<Item = (&'a str, bool)>) -> String {
    fields
        .into_iter()
        .map(|(name, personal)| {
            if personal {
                format!("{name} (personal)")
            } else {
                name.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of a grant or request, in words.
pub fn fields_text(fields: &[String]) -> String {
    if fields.is_empty() {
        "the whole dataset".into()
    } else {
        format!("fields {}", fields.join(", "))
    }
}

/// A verdict in one line.
pub fn verdict_text(verdict: &Verdict) -> String {
    verdict_doc_text(&crate::wire::VerdictDoc::of(verdict))
}

/// The verdict as the trust recorded it: for a close, the decision the host recorded on the
/// proposal (which overrides the bylaw's outcome when an entrenched clause's floor or
/// procedure falls short, and then carries both accounts), else the bylaw's verdict.
pub fn as_recorded(state: &TrustState, action: &Action, verdict: &Verdict) -> Verdict {
    if let (Action::Close(id), Verdict::Allow(a)) = (action, verdict)
        && let Some(recorded) = state.proposals.get(id).and_then(|p| p.decision.as_ref())
        && a.decision.as_ref() != Some(recorded)
    {
        let mut a = a.clone();
        a.decision = Some(recorded.clone());
        return Verdict::Allow(a);
    }
    verdict.clone()
}

/// An effect in plain words.
pub fn effect_text(state: &TrustState, effect: &Effect) -> String {
    match effect {
        Effect::ProposalOpened {
            proposal,
            closes_at,
            electorate,
        } => {
            format!(
                "proposal {proposal} opened; {electorate} members may vote until {}",
                when(*closes_at)
            )
        }
        Effect::VoteRecorded { proposal, choice } => {
            format!("{} vote counted on proposal {proposal}", choice.name())
        }
        Effect::ProposalDecided { proposal, outcome } => {
            format!("proposal {proposal} {}", outcome.name())
        }
        Effect::ProposalWithdrawn { proposal } => format!("proposal {proposal} withdrawn"),
        Effect::ProposalExecuted { proposal } => format!("proposal {proposal} executed"),
        Effect::MemberAdmitted { key, class } => {
            format!("{} admitted as a {} member", who(state, key), class.name())
        }
        Effect::MemberRemoved { key, name } => {
            format!("{name} ({}) removed", short_key(key))
        }
        Effect::Delegated { member, proxy } => match proxy {
            Some(p) => format!(
                "{} delegated their vote to {} until {}",
                who(state, member),
                who(state, &p.delegate),
                when(p.until)
            ),
            None => format!("{} withdrew their delegation", who(state, member)),
        },
        Effect::RoleChanged {
            member,
            role,
            holds,
        } => {
            if *holds {
                format!("{} now holds the role `{role}`", who(state, member))
            } else {
                format!("{} no longer holds the role `{role}`", who(state, member))
            }
        }
        Effect::LineAdopted { line, amount } => {
            format!("budget line {line} of {} adopted", cash(state, *amount))
        }
        Effect::Transferred { from, to, amount } => {
            format!("{} moved from `{from}` to `{to}`", cash(state, *amount))
        }
        Effect::Licensed {
            licence,
            expires_at,
        } => format!("licence {licence} in force until {}", when(*expires_at)),
        Effect::LicenceRevoked { licence } => format!("licence {licence} revoked"),
        Effect::FeesSet { entries } => format!("a fee schedule of {entries} entries in force"),
        Effect::PaymentRecorded {
            payment,
            direction,
            account,
            amount,
        } => format!(
            "payment {payment} recorded: {} {} `{account}`",
            cash(state, *amount),
            match direction {
                cltd_runtime::PaymentDirection::Income => "into",
                cltd_runtime::PaymentDirection::Expenditure => "out of",
            }
        ),
        Effect::ProjectSubmitted { round, project } => {
            format!("project {project} submitted to round {round}")
        }
        Effect::ApprovalRecorded { round, projects } => {
            format!("approval ballot counted in round {round} ({projects} projects)")
        }
        Effect::AssetDisposed { asset, recipient } => {
            format!("asset `{asset}` disposed of to {recipient}")
        }
        Effect::AccessGranted { grant, expires_at } => {
            format!("access grant {grant} made, expiring {}", when(*expires_at))
        }
        Effect::AssetRegistered { asset, lock } => {
            format!("asset `{asset}` registered ({})", lock.name())
        }
        Effect::AssetLocked { asset } => {
            format!("asset `{asset}` is now under the perpetual asset lock")
        }
        Effect::BylawsAmended {
            module, charter, ..
        } => {
            let params: Vec<String> = charter
                .iter()
                .map(|p| format!("{}={}", p.key, p.value))
                .collect();
            format!(
                "the bylaws are amended: module {} is in force from the next transition, with charter [{}]",
                short_hex(&hex::encode(module)),
                params.join(", ")
            )
        }
    }
}

/// The first eight hex digits of a key, for telling apart members of one name.
pub fn short_key(key: &[u8]) -> String {
    format!("{}…", hex::encode(key.get(..4).unwrap_or(key)))
}

/// The first 16 digits of a hex hash.
pub fn short_hex(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// How `proposed` differs from `current`, as `key: old -> new` lines (`(unset)` for absent:
/// the bylaw's default applies).
pub fn charter_changes(current: &[Parameter], proposed: &[Parameter]) -> Vec<String> {
    let get = |list: &[Parameter], key: &str| {
        list.iter()
            .find(|p| p.key == key)
            .map_or_else(|| "(unset)".to_string(), |p| p.value.clone())
    };
    let mut keys: Vec<&str> = current
        .iter()
        .chain(proposed)
        .map(|p| p.key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (old, new) = (get(current, k), get(proposed, k));
            (old != new).then(|| format!("{k}: {old} -> {new}"))
        })
        .collect()
}

/// Per-class turnout and ballots of a proposal.
pub struct Turnout {
    /// (class, electors, yes, no, abstain).
    pub classes: Vec<(StakeholderClass, u64, u64, u64, u64)>,
}

impl Turnout {
    /// Count a proposal: the ballots cast in person, from the host's count.
    pub fn of(p: &ProposalState) -> Turnout {
        let mut classes = Vec::new();
        for class in CLASSES {
            let v = p.proposal.votes.class(class);
            // A class with no electors is not part of this trust's vote.
            if v.electorate > 0 {
                classes.push((
                    class,
                    u64::from(v.electorate),
                    u64::from(v.yes),
                    u64::from(v.no),
                    u64::from(v.abstain),
                ));
            }
        }
        Turnout { classes }
    }

    /// Yes, no and abstain across the classes.
    pub fn choices(&self) -> (u64, u64, u64) {
        self.classes
            .iter()
            .fold((0, 0, 0), |acc, c| (acc.0 + c.2, acc.1 + c.3, acc.2 + c.4))
    }

    /// Everyone who may vote, and everyone who has.
    pub fn totals(&self) -> (u64, u64) {
        self.classes
            .iter()
            .fold((0, 0), |(e, v), c| (e + c.1, v + c.2 + c.3 + c.4))
    }
}

/// A proposal in a few lines.
pub fn proposal_text(state: &TrustState, p: &ProposalState) -> String {
    proposal_doc_text(
        &crate::wire::ProposalDoc::of(state, p),
        &hex::encode(state.module),
        &crate::wire::ParamDoc::list(&state.charter),
    )
}

/// [`proposal_text`] of a proposal as the API sends it, in a trust whose module and charter
/// in force are `module` and `charter` (it says when the proposal is judged by others).
pub fn proposal_doc_text(
    p: &crate::wire::ProposalDoc,
    module: &str,
    charter: &[crate::wire::ParamDoc],
) -> String {
    let pct = cltd_runtime::percent(p.voted, p.eligible);
    let mut s = format!(
        "#{} [{}] {}\n   {} by {}; voting {} to {}\n   {} of {} eligible have voted ({pct}%)",
        p.id,
        p.status,
        p.title,
        p.summary,
        p.proposer_name,
        when(p.opened_at),
        when(p.closes_at),
        p.voted,
        p.eligible,
    );
    for c in &p.tally {
        s.push_str(&format!(
            "\n   {:<9} {} yes, {} no, {} abstain of {}",
            c.class, c.yes, c.no, c.abstain, c.electors
        ));
    }
    if let Some(d) = &p.decision {
        s.push_str(&format!("\n   outcome: {} — {}", d.outcome, d.explanation));
        if let (Some(until), None) = (d.not_before, p.executed_at) {
            s.push_str(&format!("\n   timelocked: executable from {}", when(until)));
        }
    }
    if p.module != module || p.rules_charter != charter {
        s.push_str(&format!(
            "\n   decided under the rules in force when it opened (module {}), not the amended ones",
            short_hex(&p.module)
        ));
    }
    if let Some(a) = &p.amendment {
        s.push_str(&format!(
            "\n   candidate module {}; its impact preview: `cltd amend show {}`",
            a.module, p.id
        ));
    }
    s
}

/// [`who`] in a trust's state as the API sends it, with its members indexed once (a trust
/// may have 100,000 members, and a listing names a member on every line).
pub struct NamesIn<'a> {
    /// Each member's name by key (hex).
    by_key: std::collections::HashMap<&'a str, &'a str>,
    /// Members per name.
    per_name: std::collections::HashMap<&'a str, u32>,
}

impl<'a> NamesIn<'a> {
    /// Index the members of `s`.
    pub fn of(s: &'a crate::wire::StateDoc) -> NamesIn<'a> {
        let mut names = NamesIn {
            by_key: std::collections::HashMap::with_capacity(s.members.len()),
            per_name: std::collections::HashMap::new(),
        };
        for m in &s.members {
            names.by_key.insert(m.key.as_str(), m.name.as_str());
            *names.per_name.entry(m.name.as_str()).or_default() += 1;
        }
        names
    }

    /// A member's name (with the key's first bytes when two share it), else
    /// `key 0a1b2c3d…`.
    pub fn who(&self, key: &str) -> String {
        let short = key.get(..8).unwrap_or(key);
        match self.by_key.get(key) {
            Some(name) if self.per_name.get(name).is_some_and(|n| *n > 1) => {
                format!("{name} ({short})")
            }
            Some(name) => name.to_string(),
            None => format!("key {short}…"),
        }
    }
}

/// What `cltd show` prints: the trust (`all`) or one part of it, from its state as the API
/// sends it (so the store and a server print the same).
pub fn state_doc_text(s: &crate::wire::StateDoc, part: &str) -> String {
    let mut out = Vec::new();
    let names = NamesIn::of(s);
    let name_of = |key: &str| names.who(key);
    if part == "all" {
        out.push(format!("{} (trust {})", s.trust.name, s.trust.trust_id));
        out.push(format!(
            "bylaw module {}; log of {} entries, head {}",
            s.trust.module, s.trust.log_size, s.trust.head
        ));
        let params: Vec<String> = s
            .trust
            .charter
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect();
        out.push(format!(
            "charter: {}",
            if params.is_empty() {
                "(defaults)".to_string()
            } else {
                params.join(", ")
            }
        ));
        out.push(format!(
            "entrenched: {}",
            if s.trust.entrenched.is_empty() {
                "(none)".to_string()
            } else {
                s.trust.entrenched.join(", ")
            }
        ));
    }
    if matches!(part, "all" | "members") {
        out.push(format!("\nmembers ({}):", s.members.len()));
        for m in &s.members {
            out.push(format!(
                "  {:<16} {:<9} admitted {}  {}{}",
                m.name,
                m.class,
                when(m.admitted_at),
                m.key,
                m.proxy.as_ref().map_or_else(String::new, |p| format!(
                    "\n  {:<16} delegates to {} until {}",
                    "",
                    name_of(&p.delegate),
                    when(p.until)
                ))
            ));
        }
    }
    if matches!(part, "all" | "assets") {
        out.push(format!("\nassets ({}):", s.assets.len()));
        for a in &s.assets {
            let fields = dataset_fields(a.fields.iter().map(|f| (f.name.as_str(), f.personal)));
            out.push(format!(
                "  {:<20} {:<15} {:<9} {}{}",
                a.id,
                a.kind,
                a.lock,
                a.description,
                if fields.is_empty() {
                    String::new()
                } else {
                    format!("\n  {:<20} fields: {fields}", "")
                }
            ));
        }
    }
    if matches!(part, "all" | "proposals") {
        out.push(format!("\nproposals ({}):", s.proposals.len()));
        for p in &s.proposals {
            out.push(format!(
                "  {}",
                proposal_doc_text(p, &s.trust.module, &s.trust.charter).replace('\n', "\n  ")
            ));
        }
    }
    if matches!(part, "all" | "grants") {
        out.push(format!("\naccess grants ({}):", s.grants.len()));
        for g in &s.grants {
            out.push(format!(
                "  #{} {} -> {} of `{}` {} {} for: {}",
                g.id,
                name_of(&g.grantee),
                fields_text(&g.fields),
                g.asset,
                if g.expired { "EXPIRED" } else { "until" },
                when(g.expires_at),
                g.purpose
            ));
        }
    }
    out.join("\n")
}

/// The stakeholder classes, in the order pages and listings show them.
pub const CLASSES: [StakeholderClass; 6] = StakeholderClass::ALL;

/// The classes `state`'s members belong to, in the order pages show them.
pub fn classes_of(state: &TrustState) -> Vec<StakeholderClass> {
    CLASSES
        .into_iter()
        .filter(|c| state.counts.get(*c) > 0)
        .collect()
}

/// The personal fields of its dataset a grant covers (all of them when it covers the whole
/// dataset).
pub fn personal_fields<'a>(state: &'a TrustState, g: &Grant) -> Vec<&'a str> {
    state.assets.get(&g.asset_id).map_or_else(Vec::new, |a| {
        a.fields
            .iter()
            .filter(|f| f.personal && (g.fields.is_empty() || g.fields.contains(&f.name)))
            .map(|f| f.name.as_str())
            .collect()
    })
}

/// Whether a grant touches the data of the member `key`: it was granted to them, or it covers
/// personal data held in trust, which is about the trust's members (each member is a data
/// subject of the personal fields of its datasets). A grant over a dataset no longer held is
/// counted as touching, since its fields can no longer be checked.
pub fn grant_touches(state: &TrustState, g: &Grant, key: &[u8]) -> bool {
    g.grantee == key
        || (state.member(key).is_some()
            && (!state.assets.contains_key(&g.asset_id) || !personal_fields(state, g).is_empty()))
}

/// One log entry in one or two lines.
pub fn entry_text(state: &TrustState, entry: &Entry) -> String {
    entry_doc_text(&crate::wire::EntryDoc::of(state, entry))
}

/// [`entry_text`] of an entry as the API sends it (what `cltd --server URL log` prints).
pub fn entry_doc_text(doc: &crate::wire::EntryDoc) -> String {
    use crate::wire::EntryDoc;
    match doc {
        EntryDoc::Genesis(g) => format!(
            "{:>5}  {}  {}  GENESIS \"{}\" with {} founders, {} assets, module {}{}",
            g.index,
            short(&g.hash, 16),
            when(g.time),
            g.name,
            g.founders,
            g.assets,
            short(&g.module, 16),
            g.predecessor.as_ref().map_or_else(String::new, |p| format!(
                ", succeeding trust {} at entry {}",
                short_hex(&p.trust_id),
                p.size
            ))
        ),
        EntryDoc::Transition(t) => format!(
            "{:>5}  {}  {}  {}: {}\n       -> {} (fuel {})",
            t.index,
            short(&t.hash, 16),
            when(t.time),
            t.signer_name.as_deref().unwrap_or("?"),
            t.action.as_deref().unwrap_or("undecodable"),
            verdict_doc_text(&t.verdict),
            t.fuel
        ),
    }
}

/// [`verdict_text`] of a verdict as the API sends it.
pub fn verdict_doc_text(v: &crate::wire::VerdictDoc) -> String {
    use crate::wire::VerdictDoc;
    match v {
        VerdictDoc::Allowed {
            decision: Some(d), ..
        } => format!(
            "ALLOWED; outcome {}: {}",
            d.outcome.to_uppercase(),
            d.explanation
        ),
        VerdictDoc::Allowed { notes, .. } if notes.is_empty() => "ALLOWED".into(),
        VerdictDoc::Allowed { notes, .. } => format!("ALLOWED ({})", notes.join("; ")),
        VerdictDoc::Denied {
            code,
            clause,
            explanation,
            ..
        } => format!("DENIED [{code}] under {clause}: {explanation}"),
    }
}

/// The first `n` characters of `text` (all of it when shorter).
fn short(text: &str, n: usize) -> &str {
    text.get(..n).unwrap_or(text)
}

/// Host time (seconds since the Unix epoch) as `YYYY-MM-DD HH:MM UTC`.
pub fn when(secs: u64) -> String {
    cltd_runtime::utc(secs)
}

/// An impact preview in plain words: the charter change, the conformance checks, and every
/// past decision that would have come out differently, both explanations side by side.
pub fn preview_text(state: &TrustState, report: &ImpactPreview) -> String {
    preview_doc_text(&crate::wire::PreviewDoc::of(state, report))
}

/// [`preview_text`] of a preview as the API sends it (what `cltd --server` prints).
pub fn preview_doc_text(doc: &crate::wire::PreviewDoc) -> String {
    let mut lines = vec![format!(
        "impact preview of module {} over the first {} log entries ({} transitions re-judged)",
        doc.module, doc.entries, doc.transitions
    )];
    // Against the charter in force when the preview ran (what it was about); a preview
    // stored before cltd recorded that is compared with today's, and says so.
    let today = if doc.in_force_charter.is_some() {
        ""
    } else {
        " (compared with the charter in force today)"
    };
    if doc.charter_changes.is_empty() {
        lines.push(format!("charter: unchanged{today}"));
    } else {
        lines.push(format!(
            "charter: {}{today}",
            doc.charter_changes.join("; ")
        ));
    }
    let passed = doc.conformance.iter().filter(|c| c.passed).count();
    lines.push(format!(
        "entrenched clauses: {passed} of {} conformance checks passed",
        doc.conformance.len()
    ));
    for c in &doc.conformance {
        lines.push(format!(
            "  [{}] {}: {}",
            if c.passed { "ok" } else { "FAIL" },
            c.clause,
            c.vector
        ));
        if !c.passed {
            lines.push(format!("         the candidate {}", c.detail));
        }
    }
    if let Some(why) = &doc.stopped {
        lines.push(format!("INCOMPLETE: {why}"));
    }
    if doc.differing == 0 {
        lines.push("no past decision would have come out differently".into());
    } else {
        lines.push(format!(
            "{} past decision(s) would have come out differently{}:",
            doc.differing,
            if doc.differing as usize > doc.differences.len() {
                format!(" (the first {} listed)", doc.differences.len())
            } else {
                String::new()
            }
        ));
        for d in &doc.differences {
            lines.push(format!(
                "  entry {} ({}): {} by {}",
                d.index,
                when(d.time),
                d.action,
                d.signer_name
            ));
            lines.push(format!(
                "    in force:  {} — {}",
                d.in_force.headline, d.in_force.explanation
            ));
            lines.push(format!(
                "    candidate: {} — {}",
                d.candidate.headline, d.candidate.explanation
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::NamesIn;
    use crate::wire::{MemberDoc, StateDoc, TrustInfoDoc};

    fn member(key: char, name: &str) -> MemberDoc {
        MemberDoc {
            key: key.to_string().repeat(64),
            name: name.to_string(),
            class: "resident".to_string(),
            admitted_at: 0,
            proxy: None,
        }
    }

    #[test]
    fn names_in_a_state_doc_tell_namesakes_apart_and_unknown_keys_by_key() {
        let s = StateDoc {
            trust: TrustInfoDoc {
                trust_id: String::new(),
                name: String::new(),
                module: String::new(),
                log_size: 0,
                head: String::new(),
                time: 0,
                charter: vec![],
                entrenched: vec![],
            },
            members: vec![member('a', "sam"), member('b', "sam"), member('c', "ida")],
            assets: vec![],
            proposals: vec![],
            grants: vec![],
        };
        let names = NamesIn::of(&s);
        assert_eq!(names.who(&"c".repeat(64)), "ida");
        assert_eq!(names.who(&"a".repeat(64)), "sam (aaaaaaaa)");
        assert_eq!(names.who(&"b".repeat(64)), "sam (bbbbbbbb)");
        assert_eq!(names.who(&"d".repeat(64)), "key dddddddd…");
    }
}
