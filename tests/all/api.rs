//! `cltd serve` over a real socket on 127.0.0.1: reads, signed writes, and every documented
//! error with its status and stable code.

use cltd_runtime::{Action, Choice, ProposalBody, ProposalDraft, SignedTransition, Vote};
use serde_json::Value;

use crate::support::{DAY, Harness};

struct Server {
    base: String,
    agent: ureq::Agent,
}

impl Server {
    /// Serve the trust(s) under `root` with the default limits.
    fn start(root: &std::path::Path) -> Server {
        Server::with_limits(root, cltd::api::Limits::default())
    }

    /// Serve the trust(s) under `root` with `limits`.
    fn with_limits(root: &std::path::Path, limits: cltd::api::Limits) -> Server {
        let hub = cltd::api::Hub::open(root).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || cltd::api::serve(hub, listener, &limits));
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server { base, agent }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut r = self
            .agent
            .get(&format!("{}{path}", self.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
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

#[test]
fn the_api_serves_reads_and_signed_writes_with_stable_errors() {
    let mut h = Harness::classic();
    // The server gets its own handle on the store: the harness's trust must be dropped.
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
    let stranger = h.sign("stranger", Action::LockAsset("old-site".into()));
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
    let (status, e) = server.post(&t, &vec![0u8; 100_000]);
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
    // A bylaw's denial is a logged decision: 200, with the reason code.
    let (status, r) = server.post(&t, &stranger);
    assert_eq!(status, 200);
    assert_eq!(r["verdict"]["allowed"], false);
    assert_eq!(r["verdict"]["code"], "not-a-member");

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
    assert_eq!(json(&m)["members"]["resident"].as_array().unwrap().len(), 3);
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
