//! `cltd serve` over a real socket on 127.0.0.1: reads, signed writes, and every documented
//! error with its status and stable code.

use cltd_runtime::{Action, Choice, ProposalBody, ProposalDraft, SignedTransition, Vote};
use serde_json::Value;

use crate::support::{DAY, Harness};

pub(crate) struct Server {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) agent: ureq::Agent,
}

impl Server {
    /// Serve the trust(s) under `root` with the default limits.
    pub(crate) fn start(root: &std::path::Path) -> Server {
        Server::with_limits(root, cltd::server::Limits::default())
    }

    /// Serve the trust(s) under `root` with `limits`.
    fn with_limits(root: &std::path::Path, limits: cltd::server::Limits) -> Server {
        Server::hosting(cltd::server::Hub::open(root).unwrap(), limits)
    }

    /// Serve `hub` with `limits`.
    pub(crate) fn hosting(hub: cltd::server::Hub, limits: cltd::server::Limits) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || cltd::server::serve(hub, listener, &limits));
        Server::at(base)
    }

    /// Serve `hub`, which the caller keeps a handle on, with the default limits.
    fn sharing(hub: cltd::server::Shared) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            cltd::server::serve_shared(hub, listener, &cltd::server::Limits::default())
        });
        Server::at(base)
    }

    fn at(base: String) -> Server {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server { base, agent }
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    /// Send only the headers of a POST declaring a `length`-byte body; the answer.
    fn declare_length(&self, path: &str, length: usize) -> (u16, Value) {
        use std::io::{Read, Write};
        let host = self.base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/wasm\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// A bodiless request with any method, over a fresh connection; the status.
    fn request_with_method(&self, method: &str, path: &str) -> u16 {
        self.raw(method, path).0
    }

    /// A bodiless request with any method, over a fresh connection: status, the response's
    /// head (lowercased) and its body.
    fn raw(&self, method: &str, path: &str) -> (u16, String, String) {
        use std::io::{Read, Write};
        let host = self.base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        (
            answer[9..12].parse().unwrap(),
            head.to_lowercase(),
            body.to_string(),
        )
    }

    pub(crate) fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        self.post_with(path, body, &[])
    }

    fn post_with(&self, path: &str, body: &[u8], headers: &[(&str, String)]) -> (u16, Value) {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream");
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let mut r = request.send(body).unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

/// r1's ordinary proposal (the trust's first) and r2's yes vote on it, signed.
fn proposal_and_vote(h: &mut Harness) -> (Vec<u8>, Vec<u8>) {
    let proposal = h.sign(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "Open the repair data".into(),
            text: "reasons".into(),
            window: 7 * DAY,
        }),
    );
    let vote = h.sign(
        "r2",
        Action::Vote(Vote {
            proposal: 1,
            choice: Choice::Yes,
        }),
    );
    (proposal, vote)
}

#[test]
fn the_api_serves_reads_and_signed_writes_with_stable_errors() {
    let mut h = Harness::classic();
    let (proposal, vote) = proposal_and_vote(&mut h);
    let stranger = h.sign("stranger", Action::LockAsset("old-site".into()));
    let denied = h.sign("c3", Action::LockAsset("tenancy-data".into()));
    let id = h.trust.id_hex();
    // The server opens the store itself: the harness lets go of it first.
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());

    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
    let (status, body) = server.get("/v1/trusts");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["trusts"][0]["id"], id.as_str());

    let t = format!("/v1/trusts/{id}/transitions");
    let (status, receipt) = server.post(&t, &proposal);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["verdict"]["allowed"], true);
    let (status, receipt) = server.post(&t, &vote);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["index"], 2);

    // Read your own writes: `?min-size` is met once the write is in, refused (412
    // `behind`) beyond the log, 400 when it does not parse; answers carry the log size.
    let trust_path = format!("/v1/trusts/{id}");
    let mut r = server
        .agent
        .get(&format!("{}{trust_path}?min-size=3", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cltd-log-size"], "3");
    assert_eq!(json(&r.body_mut().read_to_string().unwrap())["log_size"], 3);
    for (query, status, expected) in [
        ("min-size=4", 412, "behind"),
        ("min-size=-1", 400, "bad-query"),
        ("min-size=9223372036854775808", 400, "bad-query"),
    ] {
        let (got, body) = server.get(&format!("{trust_path}/members?{query}"));
        assert_eq!(
            (got, code(&json(&body))),
            (status, Some(expected)),
            "{query}: {body}"
        );
    }

    // Replayed: 409 bad-sequence. Tampered signature: 401. Empty: 401. Huge: 413.
    let (status, e) = server.post(&t, &vote);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("bad-sequence")),
        "{e}"
    );
    let mut forged = SignedTransition::decode(&vote).unwrap().0;
    forged.signature[0] ^= 1;
    let (status, e) = server.post(&t, &forged.to_bytes());
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("bad-signature")),
        "{e}"
    );
    let (status, e) = server.post(&t, b"");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("unsigned")),
        "{e}"
    );
    let (status, e) = server.declare_length(&t, 100_000);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (413, Some("too-large")),
        "{e}"
    );
    let (status, e) = server.post(&t, b"\x01\x02garbage");
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("malformed")),
        "{e}"
    );
    // A stranger's action is refused without trace: 403, nothing logged.
    let (status, e) = server.post(&t, &stranger);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (403, Some("not-a-member")),
        "{e}"
    );
    // A bylaw's denial is a logged decision: 200, with the reason code.
    let (status, r) = server.post(&t, &denied);
    assert_eq!(status, 200);
    assert_eq!(r["verdict"]["allowed"], false);
    assert_eq!(r["verdict"]["code"], "already-locked");

    // Reads: the proposal with its live tally and what the bylaw would decide now.
    let (status, p) = server.get(&format!("/v1/trusts/{id}/proposals/1"));
    assert_eq!(status, 200);
    let p = json(&p);
    assert_eq!(p["voted"], 1);
    assert_eq!(p["if_closed_now"]["decision"]["outcome"], "expired", "{p}");
    let (status, log) = server.get(&format!("/v1/trusts/{id}/log?from=1&limit=2"));
    assert_eq!(status, 200);
    let log = json(&log);
    assert_eq!(log["entries"].as_array().unwrap().len(), 2);
    assert_eq!(log["next"], 3);
    let (status, note) = server.get(&format!("/v1/trusts/{id}/checkpoint"));
    assert_eq!(status, 200);
    assert!(note.starts_with(&format!("cltd/trust/{id}\n4\n")), "{note}");
    let (status, m) = server.get(&format!("/v1/trusts/{id}/members"));
    assert_eq!(status, 200);
    let m = json(&m);
    assert_eq!(m["members"]["resident"].as_array().unwrap().len(), 3);
    assert_eq!(
        (m["counts"]["resident"].as_u64(), &m["next"]),
        (Some(3), &Value::Null)
    );
    // Members a page at a time: every member once, in key order, whatever the page size;
    // one class only when asked; bad queries are 400 `bad-query`.
    let page_through = |query: &str| {
        let (mut keys, mut after) = (Vec::new(), String::new());
        loop {
            let (status, m) = server.get(&format!("/v1/trusts/{id}/members?limit=2{query}{after}"));
            assert_eq!(status, 200, "{m}");
            let m = json(&m);
            let mut page: Vec<String> = m["members"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|l| l.as_array().unwrap().iter())
                .map(|x| x["key"].as_str().unwrap().to_string())
                .collect();
            assert!(page.len() <= 2, "{m}");
            page.sort();
            keys.extend(page);
            match m["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => return keys,
            }
        }
    };
    let all = page_through("");
    assert_eq!(all.len(), 9, "{all:?}");
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    let residents = page_through("&class=resident");
    assert_eq!(residents.len(), 3);
    assert!(residents.iter().all(|k| all.contains(k)));
    for bad in ["class=landlord", "after=xyz", "limit=-1"] {
        let (status, e) = server.get(&format!("/v1/trusts/{id}/members?{bad}"));
        assert_eq!(status, 400, "{bad}: {e}");
    }
    let (_, a) = server.get(&format!("/v1/trusts/{id}/assets"));
    assert_eq!(json(&a)["assets"].as_array().unwrap().len(), 2);
    // Proofs verify against the root they come with.
    let (status, p) = server.get(&format!("/v1/trusts/{id}/proof?index=2"));
    assert_eq!(status, 200);
    let p = json(&p);
    assert_eq!(p["size"], 4);
    let decode = |v: &Value| -> [u8; 32] {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let path: Vec<[u8; 32]> = p["hashes"].as_array().unwrap().iter().map(decode).collect();
    assert_eq!(path.len(), 2);
    let (_, log) = server.get(&format!("/v1/trusts/{id}/log?from=2&limit=1"));
    let entry_hash: [u8; 32] = hex::decode(json(&log)["entries"][0]["hash"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    cltd_runtime::verify_inclusion(
        2,
        4,
        &cltd_runtime::leaf_hash(&entry_hash),
        &path,
        &decode(&p["root"]),
    )
    .unwrap();
    let (status, _) = server.get(&format!("/v1/trusts/{id}/proof?old=2"));
    assert_eq!(status, 200);
    let (status, e) = server.get(&format!("/v1/trusts/{id}/proof?index=9"));
    assert_eq!(
        (status, json(&e)["error"]["code"].as_str()),
        (422, Some("invalid"))
    );
    let (status, _) = server.get(&format!("/v1/trusts/{id}/proof"));
    assert_eq!(status, 400);
    for missing in [
        format!("/v1/trusts/{}", "0".repeat(64)),
        format!("/v1/trusts/{id}/proposals/9"),
        "/v1/nothing".to_string(),
        format!("/v1/trusts/{id}/secrets"),
    ] {
        let (status, e) = server.get(&missing);
        assert_eq!(status, 404, "{missing}");
        assert_eq!(json(&e)["error"]["code"], "not-found");
    }
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

#[test]
fn the_api_serves_votes_signers_modules_uploads_previews_docs_metrics_and_pages() {
    let mut h = Harness::classic();
    let (proposal, vote) = proposal_and_vote(&mut h);
    let reasoned = crate::support::bylaw("reasoned-clt");
    let reasoned_hash = cltd_runtime::module_hash(&cltd_runtime::to_component(&reasoned).unwrap());
    // r1's second transition (the harness signs from the state, which has seen none).
    let amend = SignedTransition::sign(
        &h.key("r1"),
        h.trust.id(),
        1,
        Action::Propose(ProposalDraft {
            body: ProposalBody::AmendBylaws(cltd_runtime::Amendment {
                module: hex::encode(reasoned_hash),
                charter: vec![],
                releases: vec![],
            }),
            title: "State reasons".into(),
            text: "Proposals should say why.".into(),
            window: 30 * DAY,
        }),
    )
    .to_bytes();
    let trust_id = h.trust.id();
    let upload_headers = |h: &mut Harness, who: &str| {
        let kp = h.key(who);
        let sig = cltd_runtime::UploadSignature::sign(&kp, trust_id, reasoned_hash);
        vec![
            ("cltd-signer", hex::encode(sig.signer)),
            ("cltd-signature", hex::encode(&sig.signature)),
        ]
    };
    let r1_upload = upload_headers(&mut h, "r1");
    // A member's approval to store the preview of the candidate with the charter in force.
    let preview_headers = |h: &mut Harness, who: &str| {
        let kp = h.key(who);
        let charter = h.trust.state().charter.clone();
        let sig =
            cltd_runtime::UploadSignature::sign_preview(&kp, trust_id, reasoned_hash, &charter);
        vec![
            ("cltd-signer", hex::encode(sig.signer)),
            ("cltd-signature", hex::encode(&sig.signature)),
        ]
    };
    let r1_preview = preview_headers(&mut h, "r1");
    let stranger_preview = preview_headers(&mut h, "stranger");
    let stranger_upload = upload_headers(&mut h, "stranger");
    let mut forged_upload = r1_upload.clone();
    forged_upload[1].1 = hex::encode([7u8; 64]);
    let r1 = hex::encode(h.pk("r1"));
    let r3 = hex::encode(h.pk("r3"));
    let classic = hex::encode(h.trust.state().module);
    let id = h.trust.id_hex();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());
    let t = format!("/v1/trusts/{id}");

    assert_eq!(server.post(&format!("{t}/transitions"), &proposal).0, 200);
    assert_eq!(server.post(&format!("{t}/transitions"), &vote).0, 200);

    // Votes, and what a key-holding client needs to sign its next transition.
    let (status, v) = server.get(&format!("{t}/proposals/1/votes"));
    assert_eq!(status, 200);
    let v = json(&v);
    assert_eq!(v["votes"][0]["name"], "r2");
    assert_eq!(v["votes"][0]["class"], "resident");
    assert_eq!(v["votes"][0]["choice"], "yes");
    let (_, s) = server.get(&format!("{t}/signers/{r1}"));
    assert_eq!(
        (json(&s)["member"].clone(), json(&s)["next_seq"].clone()),
        (true.into(), 1.into())
    );
    let (_, s) = server.get(&format!("{t}/signers/{r3}"));
    assert_eq!(json(&s)["next_seq"], 0);
    let (status, e) = server.get(&format!("{t}/signers/xyz"));
    assert_eq!((status, code(&json(&e))), (400, Some("bad-query")));

    // Modules: history, description, the exact bytes.
    let (status, m) = server.get(&format!("{t}/modules"));
    assert_eq!(status, 200);
    let m = json(&m);
    assert_eq!(m["in_force"], classic.as_str());
    assert_eq!(m["history"].as_array().unwrap().len(), 1);
    let (status, info) = server.get(&format!("{t}/modules/{classic}"));
    assert_eq!(status, 200, "{info}");
    assert_eq!(json(&info)["name"], "classic-clt");
    let mut r = server
        .agent
        .get(&format!("{}{t}/modules/{classic}/component", server.base))
        .call()
        .unwrap();
    let bytes = r.body_mut().read_to_vec().unwrap();
    assert_eq!(hex::encode(cltd_runtime::module_hash(&bytes)), classic);
    let (status, e) = server.get(&format!("{t}/modules/{}", "ab".repeat(32)));
    assert_eq!((status, code(&json(&e))), (404, Some("not-found")));

    // Uploads need a member's signature over this trust and these bytes.
    let up = format!("{t}/modules");
    let (status, e) = server.post(&up, &reasoned);
    assert_eq!((status, code(&e)), (401, Some("unsigned")), "{e}");
    let (status, e) = server.post_with(&up, &reasoned, &forged_upload);
    assert_eq!((status, code(&e)), (401, Some("bad-signature")), "{e}");
    let (status, e) = server.post_with(&up, &reasoned, &stranger_upload);
    assert_eq!((status, code(&e)), (422, Some("amendment")), "{e}");
    // Refused on its declared length, before a byte of it is read.
    let (status, e) = server.declare_length(&up, 3 << 20);
    assert_eq!((status, code(&e)), (413, Some("too-large")), "{e}");
    let (status, u) = server.post_with(&up, &reasoned, &r1_upload);
    assert_eq!(status, 200, "{u}");
    assert_eq!(
        (u["new"].clone(), u["name"].clone()),
        (true.into(), "reasoned-clt".into())
    );
    let (_, u) = server.post_with(&up, &reasoned, &r1_upload);
    assert_eq!(u["new"], false);

    // The amendment cannot open before its preview is stored. Anyone may compute a
    // preview; only a member's signature stores one.
    let (status, e) = server.post(&format!("{t}/transitions"), &amend);
    assert_eq!((status, code(&e)), (422, Some("amendment")), "{e}");
    let hash = hex::encode(reasoned_hash);
    let pv = format!("{t}/modules/{hash}/preview");
    let (status, e) = server.post(&pv, b"{not json");
    assert_eq!((status, code(&e)), (400, Some("malformed")), "{e}");
    let (status, p) = server.post(&pv, b"{}");
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["conforms"].clone(), p["stored"].clone()),
        (true.into(), false.into()),
        "{p}"
    );
    let (status, e) = server.post(&format!("{t}/transitions"), &amend);
    assert_eq!(
        (status, code(&e)),
        (422, Some("amendment")),
        "an unsigned preview stores nothing: {e}"
    );
    let (status, e) = server.post_with(&pv, b"{}", &stranger_preview);
    assert_eq!((status, code(&e)), (422, Some("amendment")), "{e}");
    let (status, e) = server.post_with(&pv, b"{}", &forged_upload);
    assert_eq!((status, code(&e)), (401, Some("bad-signature")), "{e}");
    let (status, e) = server.post_with(&pv, b"{}", &r1_preview[..1]);
    assert_eq!((status, code(&e)), (401, Some("unsigned")), "{e}");
    let (status, p) = server.post_with(&pv, b"{}", &r1_preview);
    assert_eq!((status, p["stored"].clone()), (200, true.into()), "{p}");
    let (status, r) = server.post(&format!("{t}/transitions"), &amend);
    assert_eq!(status, 200, "{r}");
    let (status, p) = server.get(&format!("{t}/proposals/2/preview"));
    assert_eq!(status, 200);
    assert_eq!(json(&p)["module"], hash.as_str());
    // The amendment's preview is its record: neither a stranger's nor a member's later
    // preview of the same pair replaces it.
    assert_eq!(server.post(&pv, b"{}").1["stored"], false);
    assert_eq!(server.post_with(&pv, b"{}", &r1_preview).1["stored"], false);
    assert_eq!(server.get(&format!("{t}/proposals/2/preview")), (status, p));
    let (status, e) = server.get(&format!("{t}/proposals/1/preview"));
    assert_eq!((status, code(&json(&e))), (404, Some("not-found")));
    // Proposals a page at a time, oldest first; the dashboard's newest first.
    let ids = |doc: &Value| -> Vec<u64> {
        let list = doc["proposals"].as_array().unwrap();
        list.iter().map(|p| p["id"].as_u64().unwrap()).collect()
    };
    let (status, all) = server.get(&format!("{t}/proposals"));
    assert_eq!(status, 200);
    let all = json(&all);
    assert_eq!((ids(&all), &all["next"]), (vec![1, 2], &Value::Null));
    let first = json(&server.get(&format!("{t}/proposals?limit=1")).1);
    assert_eq!((ids(&first), first["next"].as_u64()), (vec![1], Some(2)));
    let second = json(&server.get(&format!("{t}/proposals?from=2&limit=1")).1);
    assert_eq!((ids(&second), &second["next"]), (vec![2], &Value::Null));
    let (status, e) = server.get(&format!("{t}/proposals?from=x"));
    assert_eq!(status, 400, "{e}");
    let (status, older) = server.get(&format!("/trusts/{id}/proposals?before=2"));
    assert_eq!(status, 200);
    assert!(
        older.contains("/proposals/1\"") && !older.contains("/proposals/2\""),
        "{older}"
    );

    // The OpenAPI document lists every endpoint; the docs page every error code.
    let (status, doc) = server.get("/openapi.json");
    assert_eq!(status, 200);
    let doc = json(&doc);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/docs",
        "/openapi.json",
        "/v1/trusts",
        "/v1/trusts/{id}",
        "/v1/trusts/{id}/members",
        "/v1/trusts/{id}/assets",
        "/v1/trusts/{id}/proposals",
        "/v1/trusts/{id}/proposals/{number}",
        "/v1/trusts/{id}/proposals/{number}/votes",
        "/v1/trusts/{id}/proposals/{number}/preview",
        "/v1/trusts/{id}/grants",
        "/v1/trusts/{id}/log",
        "/v1/trusts/{id}/checkpoint",
        "/v1/trusts/{id}/proof",
        "/v1/trusts/{id}/modules",
        "/v1/trusts/{id}/modules/{hash}",
        "/v1/trusts/{id}/modules/{hash}/component",
        "/v1/trusts/{id}/modules/{hash}/preview",
        "/v1/trusts/{id}/signers/{key}",
        "/v1/trusts/{id}/transitions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    let (status, page) = server.get("/docs");
    assert_eq!(status, 200);
    for (c, _, _) in cltd::server::error::CODES {
        assert!(
            page.contains(&format!("<code>{c}</code>")),
            "{c} is not documented"
        );
    }

    // Metrics: transitions by verdict (a refusal counted too), fuel, latency, log size.
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    for needle in [
        format!("cltd_transitions_total{{trust=\"{id}\",verdict=\"allowed\"}}"),
        format!("cltd_transitions_total{{trust=\"{id}\",verdict=\"refused\"}}"),
        format!("cltd_log_entries{{trust=\"{id}\"}} 4"),
        "cltd_bylaw_fuel_bucket".into(),
        "cltd_bylaw_seconds_bucket".into(),
        "cltd_http_request_seconds_bucket{method=\"POST\",route=\"/v1/trusts/{id}/transitions\""
            .into(),
    ] {
        assert!(metrics.contains(&needle), "no {needle} in\n{metrics}");
    }
    // A stranger's invented methods add no series: methods outside the standard set are
    // counted as `other`, so `/metrics` cannot be grown by requests.
    for i in 0..40 {
        let status = server.request_with_method(&format!("INVENTED{i}"), "/healthz");
        assert_eq!(status, 405, "INVENTED{i}");
    }
    let (_, after) = server.get("/metrics");
    assert!(!after.contains("INVENTED"), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
    let series = |m: &str| m.lines().filter(|l| !l.starts_with('#')).count();
    let again: Vec<u16> = (40..80)
        .map(|i| server.request_with_method(&format!("INVENTED{i}"), "/healthz"))
        .collect();
    assert!(again.iter().all(|s| *s == 405));
    let (_, last) = server.get("/metrics");
    assert!(
        series(&last) <= series(&after) + 30,
        "40 more invented methods grew /metrics from {} to {} lines",
        series(&after),
        series(&last)
    );

    // Pages carry a policy that allows only the server's own scripts and forbids framing.
    let (status, head, _) = server.raw("GET", &format!("/trusts/{id}/proposals/1"));
    assert_eq!(status, 200);
    for needle in [
        "content-security-policy: default-src 'self'; script-src 'self';",
        "frame-ancestors 'none'",
        "x-frame-options: deny",
        "referrer-policy: no-referrer",
        "x-content-type-options: nosniff",
    ] {
        assert!(head.contains(needle), "no {needle} in\n{head}");
    }

    // The dashboard: every page renders from the binary alone, with the facts on it.
    for (path, needle) in [
        ("/".to_string(), "Test Trust"),
        (format!("/trusts/{id}"), "Latest checkpoint"),
        (format!("/trusts/{id}/members"), "r3"),
        (
            format!("/trusts/{id}/members?class=resident"),
            "resident (3)",
        ),
        (format!("/trusts/{id}/assets"), "tenancy-data"),
        (format!("/trusts/{id}/proposals"), "State reasons"),
        (
            format!("/trusts/{id}/proposals/1"),
            "1 of 9 eligible have voted (11%)",
        ),
        (
            format!("/trusts/{id}/proposals/2"),
            "Candidate bylaw module",
        ),
        (format!("/trusts/{id}/log"), "id=\"entry-3\""),
        (format!("/trusts/{id}/bylaws"), "Impact preview"),
        (format!("/trusts/{id}/audit"), "consistent"),
    ] {
        let (status, html) = server.get(&path);
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(needle), "{path} lacks {needle}");
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{path} links outside"
        );
    }
    // A page that does not exist is a page too, with the status.
    let (status, html) = server.get(&format!("/trusts/{id}/proposals/99"));
    assert_eq!(status, 404);
    assert!(html.contains("<h1>Not found</h1>") && html.contains("there is no proposal 99"));
}

#[test]
fn writes_are_rate_limited_per_client_and_slow_requests_time_out() {
    let h = Harness::classic();
    let id = h.trust.id_hex();
    let module = hex::encode(h.trust.state().module);
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::with_limits(
        dir.path(),
        cltd::server::Limits {
            read_timeout: std::time::Duration::from_secs(10),
            write_timeout: std::time::Duration::from_millis(1),
            writes_per_second: 1,
            write_burst: 2,
            ..cltd::server::Limits::default()
        },
    );
    // A preview re-runs the conformance vectors: far longer than a millisecond.
    let (status, e) = server.post(&format!("/v1/trusts/{id}/modules/{module}/preview"), b"{}");
    assert_eq!((status, code(&e)), (408, Some("timeout")), "{e}");
    let t = format!("/v1/trusts/{id}/transitions");
    assert_eq!(server.post(&t, b"").0, 401);
    let mut r = server
        .agent
        .post(&format!("{}{t}", server.base))
        .send(&b""[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    // A well-behaved client waits at least a second, and does not reuse the connection
    // whose body the server never read.
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After: {retry}");
    assert_eq!(r.headers()["connection"], "close");
    let e = json(&r.body_mut().read_to_string().unwrap());
    assert_eq!(code(&e), Some("rate-limited"));
    // Reads are not limited.
    assert_eq!(server.get("/v1/trusts").0, 200);
    // Another method on a write route is told 405, however often, and spends no writes;
    // the reads that share a write route's path still answer.
    for _ in 0..5 {
        let (got, _, body) = server.raw("GET", &t);
        assert_eq!(
            (got, code(&json(&body))),
            (405, Some("method-not-allowed")),
            "{body}"
        );
        let (got, _, body) = server.raw("PUT", &format!("/v1/trusts/{id}/modules"));
        assert_eq!(
            (got, code(&json(&body))),
            (405, Some("method-not-allowed")),
            "{body}"
        );
    }
    assert_eq!(server.get(&format!("/v1/trusts/{id}/modules")).0, 200);

    // Every error is the documented JSON, whoever raised it: a path or query parameter that
    // does not parse, a method the endpoint does not take, an unknown endpoint.
    for (method, path, status, expected) in [
        (
            "GET",
            format!("/v1/trusts/{id}/proposals/not-a-number"),
            400,
            "bad-query",
        ),
        (
            "GET",
            format!("/v1/trusts/{id}/log?from=minus-one"),
            400,
            "bad-query",
        ),
        (
            "DELETE",
            "/v1/trusts".to_string(),
            405,
            "method-not-allowed",
        ),
        ("GET", "/no/such/endpoint".to_string(), 404, "not-found"),
    ] {
        let (got, head, body) = server.raw(method, &path);
        assert_eq!(got, status, "{method} {path}: {body}");
        assert!(
            head.contains("content-type: application/json"),
            "{method} {path}: {head}"
        );
        let e = json(&body);
        assert_eq!(code(&e), Some(expected), "{method} {path}: {body}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

#[test]
fn concurrent_votes_are_group_committed_and_each_answered_with_its_own_entry() {
    let mut h = Harness::classic();
    h.allowed(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "Everyone at once".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    let voters = ["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2", "p3"];
    let votes: Vec<Vec<u8>> = voters
        .iter()
        .map(|v| {
            h.sign(
                v,
                Action::Vote(Vote {
                    proposal: 1,
                    choice: Choice::Yes,
                }),
            )
        })
        .collect();
    let id = h.trust.id_hex();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = std::sync::Arc::new(Server::start(dir.path()));
    let threads: Vec<_> = votes
        .into_iter()
        .map(|v| {
            let server = server.clone();
            let path = format!("/v1/trusts/{id}/transitions");
            std::thread::spawn(move || server.post(&path, &v))
        })
        .collect();
    let mut indices: Vec<u64> = threads
        .into_iter()
        .map(|t| {
            let (status, r) = t.join().unwrap();
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["verdict"]["allowed"], true);
            r["index"].as_u64().unwrap()
        })
        .collect();
    indices.sort_unstable();
    assert_eq!(indices, (2..=10).collect::<Vec<u64>>());
    let (_, p) = server.get(&format!("/v1/trusts/{id}/proposals/1"));
    assert_eq!(json(&p)["voted"], 9);
    let (_, log) = server.get(&format!("/v1/trusts/{id}/log?from=0&limit=1000"));
    assert_eq!(json(&log)["entries"].as_array().unwrap().len(), 11);
}

/// The grant register: each grant with its fields and the personal ones among them, and
/// `?touching=KEY` for the grants touching one member's data; the dashboard lists them all.
#[test]
fn members_see_every_grant_touching_their_data() {
    use cltd_runtime::{AccessRequest, AssetDraft, AssetKind, DataField, LockStatus};
    let mut h = Harness::classic();
    let field = |name: &str, personal| DataField {
        name: name.into(),
        personal,
    };
    h.allowed(
        "r1",
        Action::RegisterAsset(AssetDraft {
            id: "repairs".into(),
            kind: AssetKind::Dataset,
            lock: LockStatus::Perpetual,
            description: "repair requests".into(),
            fields: vec![field("address", true), field("fault", false)],
        }),
    );
    let p3 = h.pk("p3");
    for (fields, n) in [(vec!["fault"], 1), (vec!["address", "fault"], 2)] {
        h.allowed(
            "r1",
            Action::Propose(ProposalDraft {
                body: ProposalBody::GrantAccess(AccessRequest {
                    grantee: p3.clone(),
                    asset_id: "repairs".into(),
                    fields: fields.into_iter().map(String::from).collect(),
                    purpose: "fault statistics".into(),
                    duration: 30 * DAY,
                }),
                title: "Repair study".into(),
                text: String::new(),
                window: 7 * DAY,
            }),
        );
        for who in ["r1", "r2", "c1", "p3"] {
            h.allowed(
                who,
                Action::Vote(Vote {
                    proposal: n,
                    choice: Choice::Yes,
                }),
            );
        }
    }
    h.wait_days(7);
    for n in [1, 2] {
        h.allowed("r1", Action::Close(n));
        h.allowed("p3", Action::Execute(n));
    }
    let id = h.trust.id_hex();
    let r2 = hex::encode(h.pk("r2"));
    let stranger = hex::encode(h.pk("stranger"));
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());

    let grants = |query: &str| {
        let (status, body) = server.get(&format!("/v1/trusts/{id}/grants{query}"));
        (status, json(&body))
    };
    let (status, all) = grants("");
    assert_eq!(status, 200);
    assert_eq!(all["grants"][0]["fields"], serde_json::json!(["fault"]));
    assert_eq!(all["grants"][0]["personal_fields"], serde_json::json!([]));
    assert_eq!(
        all["grants"][1]["personal_fields"],
        serde_json::json!(["address"])
    );
    // A member who is not the grantee: only the grant covering personal data touches them.
    let (_, mine) = grants(&format!("?touching={r2}"));
    let ids: Vec<&Value> = mine["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["id"])
        .collect();
    assert_eq!(ids, [&serde_json::json!(2)], "{mine}");
    // The grantee: both. A stranger: none. A malformed key: 400.
    let (_, theirs) = grants(&format!(
        "?touching={}",
        all["grants"][0]["grantee"].as_str().unwrap()
    ));
    assert_eq!(theirs["grants"].as_array().unwrap().len(), 2);
    let (_, none) = grants(&format!("?touching={stranger}"));
    assert_eq!(none["grants"], serde_json::json!([]));
    let (status, _) = server.get(&format!("/v1/trusts/{id}/grants?touching=abc"));
    assert_eq!(status, 400);

    let (status, page) = server.get(&format!("/trusts/{id}/assets"));
    assert_eq!(status, 200);
    assert!(page.contains("Access grants"), "{page}");
    assert!(page.contains("address (personal), fault"), "{page}");
    assert!(page.contains("<strong>address</strong>"), "{page}");
}

/// Read until the server closes the connection; `None` if it is still open when `wait` runs
/// out (the client gives up).
fn until_closed(s: &mut std::net::TcpStream, wait: std::time::Duration) -> Option<String> {
    use std::io::Read;
    s.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&got).into_owned());
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn slow_or_idle_clients_are_cut_off_and_one_address_cannot_hold_every_connection() {
    use std::io::Write;
    let h = Harness::classic();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::with_limits(
        dir.path(),
        cltd::server::Limits {
            header_timeout: std::time::Duration::from_secs(1),
            connections_per_client: 3,
            ..cltd::server::Limits::default()
        },
    );
    let host = server.base.trim_start_matches("http://").to_string();
    let patience = std::time::Duration::from_secs(30);

    // Slowloris: a request head dribbled a byte at a time is cut off at the header timeout,
    // long before the client would stop sending.
    let mut slow = std::net::TcpStream::connect(&host).unwrap();
    write!(slow, "GET /healthz HTTP/1.1\r\nhost: {host}\r\n").unwrap();
    let dribbler = {
        let mut s = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..100 {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if s.write_all(b"x").is_err() {
                    return true;
                }
            }
            false
        })
    };
    let answer = until_closed(&mut slow, patience);
    assert!(
        answer.is_some(),
        "the server kept a dribbling connection open"
    );
    assert!(dribbler.join().unwrap(), "the dribbler was never cut off");

    // A connection that never sends a request line is closed too.
    let mut idle = std::net::TcpStream::connect(&host).unwrap();
    assert!(
        until_closed(&mut idle, patience).is_some(),
        "the server kept a silent connection open"
    );

    // One address holds at most 3 connections: a fourth is closed unanswered, and once one
    // of the three closes a new one is served.
    let held: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(&host).unwrap())
        .collect();
    // Let the server accept the three before the fourth arrives.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut fourth = std::net::TcpStream::connect(&host).unwrap();
    let _ = write!(fourth, "GET /healthz HTTP/1.1\r\nhost: {host}\r\n\r\n");
    let answer = until_closed(&mut fourth, patience).expect("the fourth is closed");
    assert!(
        answer.is_empty(),
        "the fourth connection was served: {answer}"
    );
    drop(held);
    // The three held ones are forgotten once the server sees them close.
    let mut served = false;
    for _ in 0..50 {
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        let _ = write!(
            s,
            "GET /healthz HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
        );
        if until_closed(&mut s, patience).is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        served,
        "a new connection after the others closed was not served"
    );
}

/// `--log info --log-format json`: one JSON object per request on stderr, with the route
/// template, the trust and the status, for log shippers.
#[test]
fn the_request_log_is_json_lines_with_route_trust_and_status() {
    use std::ffi::OsStr;
    use std::io::BufRead;
    let h = Harness::classic();
    let id = h.trust.id_hex();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let args = [
        "--log",
        "info",
        "--log-format",
        "json",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--trusts",
    ]
    .map(OsStr::new);
    let mut child = crate::crash::cltd()
        .command(&[&args[..], &[dir.path().as_os_str()]].concat())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(|u| u.trim_end_matches('/').to_string())
        })
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let status = agent
        .get(&format!("{base}/v1/trusts/{id}"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let requests: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "cltd::request")
        .collect();
    let logged = requests
        .iter()
        .find(|v| v["trust"] == id.as_str())
        .unwrap_or_else(|| panic!("no request line for the trust in\n{stderr}"));
    assert_eq!(logged["route"], "/v1/trusts/{id}", "{logged}");
    assert_eq!(logged["status"], 200, "{logged}");
    assert_eq!(logged["method"], "GET", "{logged}");
    assert!(logged["ms"].is_u64(), "{logged}");
}

/// The load the server issue names, for 20 s on loopback: 8 members' clients posting signed
/// votes, 8 strangers posting unsigned impact previews, 4 readers loading dashboard pages,
/// and `/healthz` probed every 10 ms. The probe stays under 100 ms at p99; votes, previews
/// and pages are all answered; previews beyond the pool's capacity are refused 503 `busy`
/// and nothing else goes wrong.
#[test]
fn under_a_mixed_load_healthz_stays_fast_and_every_kind_of_request_is_answered() {
    let report = cltd_bench::load::run(
        &crate::support::classic(),
        &cltd_bench::load::LoadPlan::default(),
    )
    .unwrap();
    let text = report.text();
    eprintln!("{text}");
    assert_eq!(
        report.unexpected, 0,
        "{text}\n{:?}",
        report.first_unexpected
    );
    assert!(report.healthz.samples > 100, "{text}");
    assert!(report.healthz.p99_us < 100_000.0, "{text}");
    assert!(
        report.votes > 0 && report.previews > 0 && report.pages > 0,
        "{text}"
    );
    // Eight strangers asking back to back for a pool of one worker and four places.
    assert!(report.previews_busy > 0, "{text}");
}

/// Reads, pages, checkpoints and unsigned previews are served from the snapshot of the
/// trust's last commit: while something holds the trust's lock (a commit's fsync, an
/// upload compiling), they are all answered, and only writes wait. A vote that waited is
/// then committed and read back at once.
#[test]
fn reads_pages_and_previews_never_wait_for_a_trusts_lock() {
    let mut h = Harness::classic();
    let (proposal, vote) = proposal_and_vote(&mut h);
    h.trust.submit(&proposal).unwrap();
    let id = h.trust.id_hex();
    let module = hex::encode(h.trust.state().module);
    let Harness { trust, .. } = h;
    let hub = std::sync::Arc::new(cltd::server::Hub::hosting(vec![trust]));
    let server = Server::sharing(hub.clone());
    while server.get("/readyz").0 != 200 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Hold the trust's lock until the test lets go (or a minute passes).
    let (held, holding) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = {
        let (hub, id) = (hub.clone(), id.clone());
        std::thread::spawn(move || {
            cltd::server::with_trust(&hub, &id, |_| {
                held.send(()).unwrap();
                Ok(released
                    .recv_timeout(std::time::Duration::from_secs(60))
                    .is_ok())
            })
            .unwrap()
        })
    };
    holding.recv().unwrap();
    for path in [
        "/healthz".to_string(),
        "/readyz".into(),
        format!("/v1/trusts/{id}"),
        format!("/v1/trusts/{id}/proposals/1"),
        format!("/v1/trusts/{id}/log?limit=5"),
        format!("/v1/trusts/{id}/checkpoint"),
        format!("/v1/trusts/{id}/proof?index=1"),
        format!("/trusts/{id}"),
        format!("/trusts/{id}/proposals/1"),
        format!("/trusts/{id}/audit"),
        format!("/trusts/{id}/bylaws"),
    ] {
        let (status, body) = server.get(&path);
        assert_eq!(status, 200, "{path} while the lock is held: {body}");
    }
    let (status, p) = server.post(&format!("/v1/trusts/{id}/modules/{module}/preview"), b"{}");
    assert_eq!((status, p["stored"].clone()), (200, false.into()), "{p}");
    assert!(
        !holder.is_finished(),
        "the reads were answered only once the lock was let go"
    );
    // A vote waits for the lock...
    let voter = {
        let (base, agent) = (server.base.clone(), server.agent.clone());
        let url = format!("{base}/v1/trusts/{id}/transitions");
        std::thread::spawn(move || agent.post(&url).send(&vote[..]).unwrap().status())
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!voter.is_finished(), "a write went past the trust's lock");
    release.send(()).unwrap();
    assert!(
        holder.join().unwrap(),
        "the lock was let go by the test, not by its timeout"
    );
    // ...then lands, and the next read sees it.
    assert_eq!(voter.join().unwrap().as_u16(), 200);
    let (_, p) = server.get(&format!("/v1/trusts/{id}/proposals/1"));
    assert_eq!(json(&p)["ballots"].as_array().map(Vec::len), Some(1), "{p}");
}

/// The proposal page never contradicts the bylaw: the tally bar shows yes and no as shares
/// of votes cast as the bylaws count them (abstentions count towards the quorum only), with
/// exact fractions beside rounded percentages; under a rule that applies in each class the
/// page marks the class that falls short instead of drawing an overall threshold.
#[test]
fn the_proposal_page_draws_what_the_bylaw_counts() {
    use crate::amendments::{close, vote as cast};
    let mut h = Harness::classic();
    let ordinary = crate::amendments::open(
        &mut h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "Adopt a policy".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    cast(&mut h, ordinary, &["r1", "r2"], &["c1"]);
    h.allowed(
        "c2",
        Action::Vote(Vote {
            proposal: ordinary,
            choice: Choice::Abstain,
        }),
    );
    // Selling the locked dataset needs 2/3 of votes cast in each class: the public class
    // votes 1 to 2 and sinks it, though 7 of 9 voted yes overall (78%).
    let sale = crate::amendments::open(
        &mut h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::DisposeAsset(cltd_runtime::Disposal {
                asset_id: "tenancy-data".into(),
                recipient: "Acme".into(),
            }),
            title: "Sell the tenancy data".into(),
            text: String::new(),
            window: 90 * DAY,
        }),
    );
    cast(
        &mut h,
        sale,
        &["r1", "r2", "r3", "c1", "c2", "c3", "p1"],
        &["p2", "p3"],
    );
    h.wait_days(90);
    assert_eq!(close(&mut h, sale), cltd_runtime::Outcome::Rejected);
    let id = h.trust.id_hex();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());

    let (_, page) = server.get(&format!("/trusts/{id}/proposals/{ordinary}"));
    assert!(
        page.contains("2 yes, 1 no: yes 2/3 (67%) of votes cast") && page.contains("1 abstained"),
        "{page}"
    );
    assert!(
        page.contains(r#"class="fill yes" style="width: 66.7%""#)
            && page.contains(r#"class="fill no" style="width: 33.3%""#)
            && !page.contains("fill abstain"),
        "{page}"
    );
    // The marker stands at one half, below the yes share: the bar agrees with the bylaw.
    assert!(
        page.contains(r#"style="left: 50.0%" title="threshold 1/2""#),
        "{page}"
    );
    let (_, page) = server.get(&format!("/trusts/{id}/proposals/{sale}"));
    assert!(page.contains("Outcome: rejected"), "{page}");
    assert_eq!(page.matches(r#"<tr class="short">"#).count(), 1, "{page}");
    let short = page.split(r#"<tr class="short">"#).nth(1).unwrap();
    assert!(
        short.starts_with(r#"<th scope="row">public</th>"#)
            && short.contains("1/3 (33%)")
            && short.contains("falls short"),
        "{page}"
    );
    assert!(!page.contains(r#"title="threshold"#), "{page}");
}

/// An over-long request target, too many header fields or too many header bytes get the
/// API's JSON error (414 `uri-too-long`, 431 `headers-too-large`) and a closed connection,
/// not hyper's empty answer.
#[test]
fn oversized_request_heads_get_the_documented_json_errors() {
    use std::io::{Read, Write};
    let h = Harness::classic();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());
    let host = server.base.trim_start_matches("http://").to_string();
    let send = |head: String| {
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status: u16 = head[9..12].parse().unwrap();
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        (status, head.to_lowercase(), body)
    };
    let long = format!(
        "GET /v1/trusts?{} HTTP/1.1\r\nhost: {host}\r\n\r\n",
        "a".repeat(cltd::server::MAX_URI)
    );
    let (status, head, body) = send(long);
    assert_eq!((status, code(&body)), (414, Some("uri-too-long")), "{body}");
    assert!(head.contains("connection: close"), "{head}");
    let many: String = (0..cltd::server::MAX_HEADERS + 1)
        .map(|i| format!("x-h{i}: v\r\n"))
        .collect();
    let (status, _, body) = send(format!(
        "GET /v1/trusts HTTP/1.1\r\nhost: {host}\r\n{many}\r\n"
    ));
    assert_eq!(
        (status, code(&body)),
        (431, Some("headers-too-large")),
        "{body}"
    );
    let big = "v".repeat(cltd::server::MAX_HEADER_BYTES);
    let (status, _, body) = send(format!(
        "GET /v1/trusts HTTP/1.1\r\nhost: {host}\r\nx-big: {big}\r\n\r\n"
    ));
    assert_eq!(
        (status, code(&body)),
        (431, Some("headers-too-large")),
        "{body}"
    );
    // Within the limits, the same request is answered.
    let (status, _, body) = send(format!(
        "GET /v1/trusts HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    ));
    assert_eq!(status, 200, "{body}");
}

/// A proposal's page shows the quorum of the charter it was opened under: an amendment
/// that lowers the quorum while it is open moves no marker on it (the bylaw judges it by
/// its own rules), while a proposal opened afterwards shows the new quorum.
#[test]
fn a_proposal_page_shows_the_quorum_it_was_opened_under() {
    use crate::amendments::{amendment, close, draft, open, param, vote as cast};
    let mut h = Harness::classic();
    let ordinary = |title: &str| {
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: title.into(),
            text: String::new(),
            window: 60 * DAY,
        })
    };
    let before = open(&mut h, ordinary("Opened under the founding charter"));
    let classic = h.trust.state().module;
    let quarter = vec![param("ordinary-quorum", "1/4")];
    h.trust.preview_amendment(&classic, &quarter).unwrap();
    let amend = open(&mut h, draft(amendment(&classic, quarter.clone(), &[]), 30));
    cast(
        &mut h,
        amend,
        &["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2", "p3"],
        &[],
    );
    h.wait_days(30);
    assert_eq!(close(&mut h, amend), cltd_runtime::Outcome::Passed);
    h.wait_days(7);
    h.allowed("c1", Action::Execute(amend));
    let after = open(&mut h, ordinary("Opened under the amended charter"));
    let id = h.trust.id_hex();
    let founding_quorum = h.trust.state().proposals[&before]
        .rules
        .charter
        .iter()
        .find(|p| p.key == "ordinary-quorum")
        .map(|p| p.value.clone());
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());
    let quorum_of = |number: u64| {
        let (_, page) = server.get(&format!("/trusts/{id}/proposals/{number}"));
        let at = page
            .find("title=\"quorum ")
            .unwrap_or_else(|| panic!("{page}"));
        page[at + "title=\"quorum ".len()..]
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    // classic-clt's default when the founding charter does not set it.
    assert_eq!(
        quorum_of(before),
        founding_quorum.unwrap_or_else(|| "1/3".into())
    );
    assert_eq!(quorum_of(after), "1/4");
}

/// However many strangers ask, an unsigned impact preview writes nothing: the store's every
/// table is byte for byte what it was, and its file did not grow.
#[test]
fn anonymous_previews_never_write_to_the_store() {
    let h = Harness::classic();
    let id = h.trust.id_hex();
    let module = hex::encode(h.trust.state().module);
    let store = h.dir.path().join(cltd_runtime::STORE_FILE);
    let Harness { dir, trust, .. } = h;
    let hub = std::sync::Arc::new(cltd::server::Hub::hosting(vec![trust]));
    let server = Server::sharing(hub.clone());
    while server.get("/readyz").0 != 200 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = cltd::server::snapshot(&hub, &id).unwrap().dump().unwrap();
    let size = std::fs::metadata(&store).unwrap().len();
    let url = format!("/v1/trusts/{id}/modules/{module}/preview");
    let bodies: [&[u8]; 3] = [
        b"{}",
        br#"{"set": {"ordinary-quorum": "1/4"}}"#,
        br#"{"set": {"ordinary-quorum": "1/5"}, "unset": []}"#,
    ];
    let mut answered = 0;
    for i in 0..21 {
        let (status, p) = server.post(&url, bodies[i % bodies.len()]);
        match status {
            200 => {
                assert_eq!(p["stored"], false, "{p}");
                answered += 1;
            }
            503 => assert_eq!(code(&p), Some("busy"), "{p}"),
            _ => panic!("{status} {p}"),
        }
    }
    assert!(answered > 0);
    let after = cltd::server::snapshot(&hub, &id).unwrap().dump().unwrap();
    assert!(before == after, "an unsigned preview changed the store");
    assert_eq!(std::fs::metadata(&store).unwrap().len(), size);
    drop(dir);
}

/// A regional trust's proposal: its page and document list the first ballots, and the rest
/// are read a page at a time, in key order, none twice and none missed.
#[test]
fn a_proposal_with_many_ballots_is_read_a_page_at_a_time() {
    use cltd_runtime::{Applicant, Charter, Clause, ManualClock, StakeholderClass, Trust};
    let dir = tempfile::TempDir::new().unwrap();
    let names: Vec<String> = (0..250).map(|i| format!("m{i}")).collect();
    let keys: Vec<_> = names.iter().map(|n| crate::support::key_for(n)).collect();
    let classes = [
        StakeholderClass::Resident,
        StakeholderClass::Community,
        StakeholderClass::Public,
    ];
    let charter = Charter {
        treasury: None,
        name: "Regional Trust".into(),
        params: vec![],
        founders: names
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (n, k))| Applicant {
                key: k.public().to_vec(),
                name: n.clone(),
                class: classes[i % 3],
            })
            .collect(),
        assets: vec![],
        entrenched: Clause::ALL.to_vec(),
    };
    let clock = std::sync::Arc::new(ManualClock::new(1_800_000_000));
    let mut trust = Trust::create(
        dir.path(),
        crate::support::runtime(),
        charter,
        &crate::support::classic(),
        Box::new(clock),
    )
    .unwrap();
    let id = trust.id();
    let propose = SignedTransition::sign(
        &keys[0],
        id,
        0,
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "Adopt the regional plan".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    )
    .to_bytes();
    trust.submit(&propose).unwrap();
    // 230 of the 250 vote, in one group commit.
    let votes: Vec<Vec<u8>> = keys[..230]
        .iter()
        .map(|k| {
            let seq = trust.state().next_seq(&k.member_key());
            SignedTransition::sign(
                k,
                id,
                seq,
                Action::Vote(Vote {
                    proposal: 1,
                    choice: Choice::Yes,
                }),
            )
            .to_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = votes.iter().map(Vec::as_slice).collect();
    for r in trust.submit_batch(&refs) {
        r.unwrap();
    }
    let mut expected: Vec<String> = keys[..230]
        .iter()
        .map(|k| hex::encode(k.public()))
        .collect();
    expected.sort();
    let t = format!("/v1/trusts/{}", trust.id_hex());
    drop(trust);
    let server = Server::start(dir.path());

    // The document lists the first 100 and says where the rest continue.
    let (status, p) = server.get(&format!("{t}/proposals/1"));
    assert_eq!(status, 200);
    let p = json(&p);
    assert_eq!(p["voted"], 230);
    let listed: Vec<&str> = p["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["voter"].as_str().unwrap())
        .collect();
    assert_eq!(listed, expected[..100]);
    assert_eq!(p["ballots_next"], expected[99].as_str());

    // Pages of 64 from the start: every ballot once, in key order, and the end says so.
    let mut read = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = after
            .as_ref()
            .map_or(String::new(), |a| format!("&after={a}"));
        let (status, v) = server.get(&format!("{t}/proposals/1/votes?limit=64{query}"));
        assert_eq!(status, 200, "{v}");
        let v = json(&v);
        let page = v["votes"].as_array().unwrap();
        assert!(page.len() <= 64);
        read.extend(
            page.iter()
                .map(|b| b["voter"].as_str().unwrap().to_string()),
        );
        match v["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(read, expected);
    // A page without a limit holds at most 1000; limit 0 counts as 1.
    let (_, all) = server.get(&format!("{t}/proposals/1/votes"));
    assert_eq!(json(&all)["votes"].as_array().unwrap().len(), 230);
    assert_eq!(json(&all)["next"], Value::Null);
    let (_, one) = server.get(&format!("{t}/proposals/1/votes?limit=0"));
    assert_eq!(json(&one)["votes"].as_array().unwrap().len(), 1);
    // A bad cursor is a 400 with the stable code, not an empty page.
    for bad in ["xyz", "00", &"0".repeat(66)] {
        let (status, e) = server.get(&format!("{t}/proposals/1/votes?after={bad}"));
        assert_eq!((status, code(&json(&e))), (400, Some("bad-query")), "{bad}");
    }
    let (status, _) = server.get(&format!("{t}/proposals/2/votes"));
    assert_eq!(status, 404);

    // The dashboard shows the first 100, the full count, and where to read the rest.
    let trust_id = t.trim_start_matches("/v1/trusts/");
    let (_, page) = server.get(&format!("/trusts/{trust_id}/proposals/1"));
    assert!(page.contains("Ballots (230)"), "{page}");
    assert_eq!(page.matches("<tr><th scope=\"row\">m").count(), 100);
    assert!(
        page.contains(&format!(
            "130 more: <a href=\"{t}/proposals/1/votes?after={}\">",
            expected[99]
        )),
        "{page}"
    );
}

#[test]
fn members_read_every_applicant_of_a_membership_drive_before_they_vote() {
    use cltd_runtime::{Applicant, StakeholderClass};
    let mut h = Harness::classic();
    let applicants: Vec<Applicant> = (0..120)
        .map(|i| {
            let name = format!("newcomer-{i:03}");
            Applicant {
                key: h.pk(&name),
                name,
                class: StakeholderClass::Community,
            }
        })
        .collect();
    h.allowed(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::AdmitMembers(applicants.clone()),
            title: "Spring intake".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    let t = format!("/v1/trusts/{}", h.trust.id_hex());
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep, trust, ..
    } = h;
    drop(trust);
    let server = Server::start(&dir);

    let (status, p) = server.get(&format!("{t}/proposals/1"));
    assert_eq!(status, 200);
    let p = json(&p);
    assert_eq!(p["kind"], "admit-members");
    assert_eq!(
        p["summary"],
        "admitting 120 applicants (newcomer-000, newcomer-001, newcomer-002, 117 more): 120 community"
    );
    let listed = p["applicants"].as_array().unwrap();
    assert_eq!(listed.len(), 120);
    for (doc, a) in listed.iter().zip(&applicants) {
        assert_eq!(doc["key"], hex::encode(&a.key).as_str());
        assert_eq!(doc["name"], a.name.as_str());
        assert_eq!(doc["class"], "community");
    }
    let trust_id = t.trim_start_matches("/v1/trusts/");
    let (_, page) = server.get(&format!("/trusts/{trust_id}/proposals/1"));
    assert!(page.contains("Applicants (120)"), "{page}");
    assert!(page.contains("<tr><th scope=\"row\">newcomer-119</th><td>community</td>"));
    drop(keep);
}
