"""The cluster test (issue 18), run by scripts/cluster-test.sh.

Starts a 3-server NATS JetStream cluster (fsync before acknowledging) and three
`cltd serve --cluster` nodes on loopback, puts members' transitions through all three
nodes (so writes are forwarded to the trust's writer) while it SIGKILLs the leader of the
log stream holding the trust,
then the trust's writer node, then both, and SIGSTOPs the writer past its heartbeat TTL;
then starts a fourth node with an empty data directory. An amendment is uploaded through
node 1, previewed through node 2, opened through node 3 and voted through node 4; every node
is restarted on a clock moved past its window (libfaketime), it is closed through node 3,
restarted again past its timelock, executed through node 2, and every node must then judge
by the new module; a fifth node started empty then must replay it all (fetching the
module the amendment's entries name). Every node cosigns the checkpoint. Afterwards every
node must hold
the same log (same entry hashes, so the same bytes: each entry's hash covers the previous
one), `cltd verify` must pass on every node's store, every receipt a client got must be
in every log at its index with its hash, and no signer's sequence number may be used twice.

Everything it starts it stops by PID. Standard library only.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CLTD, NATS, FAKETIME_LIB = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = tempfile.mkdtemp(prefix="cltd-cluster-")
SERVERS = ",".join(f"nats://127.0.0.1:{14222 + i}" for i in range(3))
MONITORS = ",".join(f"http://127.0.0.1:{14242 + i}" for i in range(3))
HEARTBEAT_TTL = 4
STARTED = time.monotonic()
procs = {}


def say(*what):
    print(f"[{time.monotonic() - STARTED:6.1f}s]", *what, flush=True)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def start_nats(i):
    name = f"n{i + 1}"
    conf = os.path.join(WORK, f"{name}.conf")
    routes = ", ".join(f"nats://127.0.0.1:{14232 + j}" for j in range(3))
    with open(conf, "w") as f:
        f.write(
            f"""server_name: {name}
listen: 127.0.0.1:{14222 + i}
http: 127.0.0.1:{14242 + i}
max_payload: 8MB
jetstream {{ store_dir: "{WORK}/js{i + 1}", sync_interval: always }}
cluster {{ name: cltd, listen: 127.0.0.1:{14232 + i}, routes: [{routes}] }}
"""
        )
    log = open(os.path.join(WORK, f"{name}.log"), "a")
    procs[name] = subprocess.Popen([NATS, "-c", conf], stdout=log, stderr=log)
    wait_for(
        f"NATS server {name}",
        lambda: get(f"http://127.0.0.1:{14242 + i}/healthz?js-enabled-only=true")["status"] == "ok",
        20,
    )


def node_dir(n):
    return os.path.join(WORK, f"node{n}")


def start_node(n, days_ahead=0):
    """Start node n; `days_ahead` runs it on a clock that many days ahead of the machine's
    (libfaketime), for the amendment's voting window and timelock to run out."""
    log = open(os.path.join(WORK, f"node{n}.log"), "a")
    env = dict(os.environ, RUST_LOG="cltd=info")
    if days_ahead:
        env.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME=f"+{days_ahead}d",
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
    procs[f"node{n}"] = subprocess.Popen(
        [CLTD, "serve", "--trusts", node_dir(n), "--listen", f"127.0.0.1:{17300 + n}",
         "--cluster", SERVERS, "--node-id", f"node{n}",
         "--writes-per-second", "100000", "--write-burst", "100000"],
        stdout=log, stderr=log, env=env,
    )


def url(n):
    return f"http://127.0.0.1:{17300 + n}"


def sizes(nodes, trust):
    out = {}
    for n in nodes:
        try:
            out[n] = get(f"{url(n)}/v1/trusts/{trust}")["log_size"]
        except Exception:
            out[n] = None
    return out


def stream_leader_now(stream):
    for i in range(3):
        try:
            d = get(f"http://127.0.0.1:{14242 + i}/jsz?streams=true")
            for a in d.get("account_details", []):
                for s in a.get("stream_detail", []):
                    if s["name"] == stream and s.get("cluster", {}).get("leader"):
                        return s["cluster"]["leader"]
        except Exception:
            pass
    return None


def stream_leader(trust):
    """The leader of the log stream holding the trust, asked again while it is being
    elected."""
    stream = status_of(trust)[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        leader = stream_leader_now(stream)
        if leader:
            return leader
        time.sleep(0.5)
    raise SystemExit(f"FAIL: the log stream {stream} had no leader for 30 s")


def status_of(trust):
    """The trust's log stream and writer node as `cltd cluster status` says (asked again
    while the engine is between leaders and cannot say)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = subprocess.run([CLTD, "cluster", "status", "--cluster", SERVERS],
                           capture_output=True, text=True, timeout=60)
        for line in r.stdout.splitlines():
            if line.startswith(f"trust {trust}:") and "writer node" in line:
                stream = line.split(" stream ", 1)[1].split()[0]
                return stream, int(line.rsplit("writer node", 1)[1])
        time.sleep(0.5)
    raise SystemExit("FAIL: `cltd cluster status` named no writer for 30 s")


def writer_node(trust):
    """The trust's writer node."""
    return status_of(trust)[1]


class CliError(Exception):
    pass


def cli_json(n, verb):
    """Run a member verb against node n; its JSON answer, or CliError with the error."""
    r = subprocess.run([CLTD, "--json", "--server", url(n)] + verb,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise CliError((r.stdout + r.stderr).strip()[-500:])
    doc = json.loads(r.stdout)
    if isinstance(doc, dict) and "entry_hash" in doc:
        receipts.append((doc["index"], doc["entry_hash"], "amendment"))
    return doc


receipts = []
outcomes = {}
stop_load = threading.Event()
lock = threading.Lock()


examples = {}


def load(member, keyfile):
    """One member acting through each node in turn until told to stop: opening a proposal,
    then withdrawing it (so the member's open proposals stay under the limit)."""
    i = 0
    opened = None
    while not stop_load.is_set():
        n = 1 + (i % 3)
        i += 1
        if opened is None:
            verb = ["propose", "--as", keyfile, "--title", f"{member} {i} via node{n}", "ordinary"]
        else:
            verb = ["withdraw", "--as", keyfile, str(opened)]
        r = subprocess.run([CLTD, "--json", "--server", url(n)] + verb,
                           capture_output=True, text=True, timeout=60)
        with lock:
            if r.returncode == 0:
                doc = json.loads(r.stdout)
                receipts.append((doc["index"], doc["entry_hash"], member))
                outcomes["ok"] = outcomes.get("ok", 0) + 1
                found = [e.split()[1] for e in doc["effects"] if e.startswith("proposal ") and " opened" in e]
                opened = int(found[0]) if found else None
            else:
                try:
                    error = json.loads(r.stdout or r.stderr)["error"]
                    code = error["code"]
                    examples.setdefault(code, error["message"])
                except Exception:
                    code = "no-answer"
                    examples.setdefault(code, (r.stdout + r.stderr)[-300:])
                outcomes[code] = outcomes.get(code, 0) + 1
                if code == "lifecycle":
                    # The withdrawal was logged though its answer was lost (a node killed
                    # after its commit): the proposal is no longer open.
                    opened = None
        time.sleep(random.uniform(0, 0.05))


def restart_all(nodes, trust, days_ahead, converged):
    """Stop every node (SIGTERM) and start it again on a clock `days_ahead` days ahead;
    wait until each hosts the trust with the same log and reports itself ready."""
    for n in nodes:
        p = procs[f"node{n}"]
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    for n in nodes:
        start_node(n, days_ahead)

    def ready():
        for n in nodes:
            with urllib.request.urlopen(f"{url(n)}/readyz", timeout=5) as r:
                if f"{trust}: replication lag 0 entries" not in r.read().decode():
                    return False
        return converged()

    wait_for(f"every node back, {days_ahead} days on, ready with the same log", ready, 90)


def act_when_ready(n, verb, seconds=60):
    """A member verb through node n, asked again while the cluster is choosing the trust's
    writer after a restart (refusals that leave nothing logged: unavailable, or a node not
    yet caught up with the signer's sequence)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return cli_json(n, verb)
        except CliError as e:
            transient = any(code in str(e) for code in
                            ("cluster-unavailable", "bad-sequence", "Connection refused"))
            if not transient or time.monotonic() > deadline:
                raise SystemExit(f"FAIL: {' '.join(verb[:1])} through node{n}: {e}")
            time.sleep(0.5)


def diagnose():
    """On a failure: what each node says about itself, and the warnings it logged."""
    for n in range(1, 6):
        try:
            with urllib.request.urlopen(f"{url(n)}/readyz", timeout=5) as r:
                print(f"node{n} /readyz {r.status}:\n{r.read().decode()}")
        except urllib.error.HTTPError as e:
            print(f"node{n} /readyz {e.code}:\n{e.read().decode()}")
        except Exception as e:
            print(f"node{n} /readyz: {e}")
        log = os.path.join(WORK, f"node{n}.log")
        if os.path.exists(log):
            lines = [l for l in open(log, errors="replace") if " WARN " in l or " ERROR " in l]
            print(f"node{n}: {len(lines)} warnings; the last ones:")
            for l in lines[-15:]:
                print("   ", l.rstrip()[:400])


def main():
    try:
        run()
    except BaseException:
        diagnose()
        raise
    finally:
        for name, p in procs.items():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                p.kill()
                p.wait()
        if os.environ.get("CLTD_KEEP_CLUSTER_TEST"):
            print("kept", WORK)
        else:
            subprocess.run(["rm", "-rf", WORK])


def ports_free():
    """Refuse to start if anything listens on the test's ports: its servers would fail to
    bind, and the test would run against whatever answers there instead."""
    import socket
    busy = []
    for port in [14222 + i for i in range(3)] + [14232 + i for i in range(3)] \
            + [14242 + i for i in range(3)] + [17300 + n for n in range(1, 6)]:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    if busy:
        raise SystemExit(f"FAIL: ports {busy} are in use; stop what listens there first")


def run():
    ports_free()
    for i in range(3):
        start_nats(i)
    wait_for(
        "the JetStream cluster to elect its meta leader",
        lambda: all(get(f"http://127.0.0.1:{14242 + i}/jsz").get("meta_cluster", {}).get("leader")
                    for i in range(3)),
        30,
    )
    say("3 NATS servers up, meta leader elected")
    subprocess.run([CLTD, "cluster", "init", "--cluster", SERVERS, "--monitor", MONITORS],
                   check=True, stdout=subprocess.DEVNULL)
    # A trust with a history (the demo's), founded in node 1's directory.
    seed = os.path.join(node_dir(1), "riverside")
    subprocess.run([CLTD, "demo", "--data-dir", seed], check=True, stdout=subprocess.DEVNULL)
    keys = os.path.join(WORK, "keys")
    os.rename(os.path.join(seed, "keys"), keys)
    trust = None
    for n in (1, 2, 3):
        os.makedirs(node_dir(n), exist_ok=True)
        start_node(n)
    wait_for("node 1", lambda: urllib.request.urlopen(f"{url(1)}/healthz", timeout=2), 30)

    def all_host():
        nonlocal trust
        ts = get(f"{url(1)}/v1/trusts")["trusts"]
        trust = ts[0]["id"]
        return all(get(f"{url(n)}/v1/trusts")["trusts"] for n in (2, 3))

    wait_for("every node to take on the trust", all_host, 60)
    say("3 cltd nodes up, each hosting trust", trust[:16])

    members = ["bo", "chen", "dana"]
    workers = [threading.Thread(target=load, args=(m, os.path.join(keys, f"{m}.key")))
               for m in members]
    for w in workers:
        w.start()
    time.sleep(6)

    leader = stream_leader(trust)
    say("SIGKILL the stream leader", leader)
    i = int(leader[1:]) - 1
    procs[leader].kill()
    procs[leader].wait()
    time.sleep(8)
    start_nats(i)
    say("restarted", leader)
    time.sleep(4)

    w = writer_node(trust)
    say(f"SIGKILL the trust's writer, node{w}")
    procs[f"node{w}"].kill()
    procs[f"node{w}"].wait()
    time.sleep(HEARTBEAT_TTL + 4)
    start_node(w)
    say(f"restarted node{w}")
    time.sleep(4)

    leader, w = stream_leader(trust), writer_node(trust)
    say(f"SIGKILL both the stream leader {leader} and the writer node{w}")
    procs[leader].kill()
    procs[f"node{w}"].kill()
    procs[leader].wait()
    procs[f"node{w}"].wait()
    time.sleep(HEARTBEAT_TTL + 4)
    start_nats(int(leader[1:]) - 1)
    start_node(w)
    say("restarted both")
    time.sleep(4)

    w = writer_node(trust)
    say(f"SIGSTOP the writer node{w} for {HEARTBEAT_TTL + 3}s")
    os.kill(procs[f"node{w}"].pid, signal.SIGSTOP)
    time.sleep(HEARTBEAT_TTL + 3)
    os.kill(procs[f"node{w}"].pid, signal.SIGCONT)
    say(f"resumed node{w}")
    time.sleep(4)

    stop_load.set()
    for t in workers:
        t.join()
    say("load stopped:", dict(sorted(outcomes.items())), f"{len(receipts)} receipts")
    for code, message in sorted(examples.items()):
        say(f"  e.g. {code}: {message}")
    if len(receipts) < 30:
        raise SystemExit(f"FAIL: only {len(receipts)} transitions were acknowledged")

    os.makedirs(node_dir(4), exist_ok=True)
    start_node(4)
    nodes = (1, 2, 3, 4)

    def converged():
        s = sizes(nodes, trust)
        return None not in s.values() and len(set(s.values())) == 1

    wait_for("every node, the new one too, to reach the same log size", converged, 90)
    say("converged at", sizes(nodes, trust))
    for n in nodes:
        with urllib.request.urlopen(f"{url(n)}/readyz", timeout=10) as r:
            ready = r.read().decode()
        if f"{trust}: replication lag 0 entries" not in ready:
            raise SystemExit(f"FAIL: node{n}'s /readyz does not report a lag of 0:\n{ready}")
    say("every node's /readyz reports replication lag 0")

    # An amendment across nodes: the candidate uploaded through node 1, its impact preview
    # computed and stored through node 2, the proposal opened through node 3 and voted on
    # through node 4. Each node must hold the module and the preview it needs by then.
    amara = os.path.join(keys, "amara.key")
    wasm = os.path.join(os.environ["CLTD_BYLAWS_DIR"], "reasoned-clt.wasm")
    up = cli_json(1, ["bylaws", "upload", "--as", amara, wasm])
    module = up["module"]
    wait_for("node 2 to fetch the uploaded module",
             lambda: get(f"{url(2)}/v1/trusts/{trust}/modules/{module}")["module"] == module, 30)
    cli_json(2, ["amend", "preview", module, "--as", amara])

    def proposed():
        doc = cli_json(3, ["propose", "--as", amara, "--title", "Reasons for every decision",
                           "--days", "30", "amend", "--module", module])
        return doc

    opened = None
    deadline = time.monotonic() + 30
    while opened is None:
        try:
            doc = proposed()
            opened = int([e.split()[1] for e in doc["effects"] if " opened" in e][0])
        except CliError as e:
            if time.monotonic() > deadline or "impact preview" not in str(e):
                raise SystemExit(f"FAIL: the amendment did not open through node 3: {e}")
            time.sleep(0.5)
    # Read your own write on another node at once: ?min-size makes node 2 catch up first.
    index = doc["index"]
    with urllib.request.urlopen(
            f"{url(2)}/v1/trusts/{trust}/proposals/{opened}?min-size={index + 1}", timeout=10) as r:
        if int(r.headers["cltd-log-size"]) < index + 1 or json.loads(r.read())["id"] != opened:
            raise SystemExit("FAIL: ?min-size did not give node 2's answer after the write")
    voters = ("amara", "bo", "chen", "dana", "eli")
    for member in voters:
        cli_json(4, ["vote", "--as", os.path.join(keys, f"{member}.key"), str(opened), "yes"])
    wait_for(f"every node to hold the amendment with its {len(voters)} votes", lambda: all(
        get(f"{url(n)}/v1/trusts/{trust}/proposals/{opened}")["kind"] == "amend-bylaws"
        and len(get(f"{url(n)}/v1/trusts/{trust}/proposals/{opened}/votes")["votes"]) == len(voters)
        for n in nodes), 30)
    wait_for("the last votes to reach every node", converged, 30)
    say(f"amendment {opened} (module {module[:12]}) uploaded via node1, previewed via node2, "
        f"opened via node3, voted via node4: on every node")

    # Its 30-day window and 7-day timelock run out on the nodes' clocks: every node is
    # restarted on a clock moved ahead (libfaketime; the trust's time is the latest of the
    # clock and its last entry's time), once past the window, once past the timelock. Then
    # the amendment is closed through node 3 and executed through node 2, and every node
    # must judge by the new module from then on.
    closes_at = get(f"{url(1)}/v1/trusts/{trust}/proposals/{opened}")["closes_at"]
    past_window = (closes_at - int(time.time())) // 86400 + 2
    restart_all(nodes, trust, past_window, converged)
    closed = act_when_ready(3, ["close", "--as", amara, str(opened)])
    decision = get(f"{url(3)}/v1/trusts/{trust}/proposals/{opened}"
                   f"?min-size={closed['index'] + 1}")["decision"]
    if decision is None or decision["outcome"] != "passed":
        raise SystemExit(f"FAIL: the amendment did not pass on closing: {closed} {decision}")
    not_before = decision["not_before"]
    say(f"amendment {opened} closed through node3 {past_window} days on: passed, "
        f"timelocked for {(not_before - closed['time']) // 86400} days")
    past_timelock = (not_before - int(time.time())) // 86400 + 2
    restart_all(nodes, trust, past_timelock, converged)
    act_when_ready(2, ["execute", "--as", amara, str(opened)])
    wait_for("every node to judge by the amended module", lambda: all(
        get(f"{url(n)}/v1/trusts/{trust}")["module"] == module for n in nodes), 30)
    wait_for("the execution to reach every node", converged, 30)
    say(f"amendment {opened} executed through node2 {past_timelock} days on: module "
        f"{module[:12]} in force on every node")
    # A fifth node, started empty now, replays the amendment's entries: it fetches the
    # module they name from the engine before it re-executes them.
    os.makedirs(node_dir(5), exist_ok=True)
    start_node(5, past_timelock)
    nodes = (1, 2, 3, 4, 5)
    wait_for("the fifth node to catch up", converged, 90)
    if get(f"{url(5)}/v1/trusts/{trust}")["module"] != module:
        raise SystemExit("FAIL: the fifth node does not judge by the amended module")
    say("a fifth node started empty caught up, the amendment included")
    # Every node cosigns, as a witness with its own key, the checkpoint node 1 (which holds
    # the trust's host key) signs, but only if its own re-executed log has that root.
    status = subprocess.run([CLTD, "cluster", "status", "--cluster", SERVERS],
                            capture_output=True, text=True, check=True).stdout
    witnesses = {}
    for line in status.splitlines():
        if line.startswith("node ") and "--witness " in line:
            name, key = line.rsplit("--witness ", 1)[1].split("=")
            witnesses[name] = key
    size = sizes([1], trust)[1]

    def cosigned_by_all():
        with urllib.request.urlopen(f"{url(1)}/v1/trusts/{trust}/checkpoint", timeout=5) as r:
            note = r.read().decode()
        return note.split("\n")[1] == str(size) and all(
            f"\u2014 {name} " in note for name in witnesses)

    wait_for("every node to cosign the latest checkpoint", cosigned_by_all, 30)
    # Each node's cosignature once (the host key's signature and one per witness), and it
    # stays so: gathering again adds nothing once every live node has cosigned.
    time.sleep(6)
    with urllib.request.urlopen(f"{url(1)}/v1/trusts/{trust}/checkpoint", timeout=5) as r:
        lines = [l for l in r.read().decode().split("\n") if l.startswith("\u2014 ")]
    if len(lines) != len(witnesses) + 1:
        raise SystemExit(f"FAIL: the checkpoint holds {len(lines)} signatures, not "
                         f"{len(witnesses) + 1}:\n" + "\n".join(lines))
    say(f"the checkpoint of {size} entries is cosigned by {', '.join(sorted(witnesses))}")
    for n in nodes:
        p = procs[f"node{n}"]
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    bundle = os.path.join(WORK, "riverside.cltd-bundle")
    subprocess.run([CLTD, "--data-dir", os.path.join(node_dir(1), "riverside"), "export",
                    "--out", bundle], check=True, stdout=subprocess.DEVNULL)
    others = [f"{n}={k}" for n, k in witnesses.items() if n != "cltd-node-node1"]
    audit = subprocess.run([CLTD, "audit", "verify", bundle, "--no-reexec", "--state-dir",
                            os.path.join(WORK, "audit")]
                           + sum((["--witness", w] for w in others), []) + ["--quorum", "2"],
                           capture_output=True, text=True)
    if audit.returncode != 0:
        raise SystemExit(f"FAIL: audit verify --quorum 2 over the other nodes' witnesses:\n"
                         f"{audit.stdout}{audit.stderr}")
    say(f"audit verify --quorum 2 passes over the witnesses of nodes 2-{len(nodes)} ({len(others)} keys)")

    logs = {}
    for n in nodes:
        d = os.path.join(node_dir(n), "riverside" if n == 1 else trust)
        v = subprocess.run([CLTD, "--data-dir", d, "verify"], capture_output=True, text=True)
        if v.returncode != 0:
            raise SystemExit(f"FAIL: cltd verify on node{n}:\n{v.stdout}{v.stderr}")
        out = subprocess.run([CLTD, "--json", "--data-dir", d, "log", "--limit", "100000000"],
                             capture_output=True, text=True, check=True).stdout
        logs[n] = json.loads(out)
        if len(logs[n]) != size:
            raise SystemExit(f"FAIL: node{n}'s log lists {len(logs[n])} entries, not {size}")
    first = [e["hash"] for e in logs[1]]
    for n in nodes:
        if [e["hash"] for e in logs[n]] != first:
            raise SystemExit(f"FAIL: node{n}'s log differs from node1's")
    say(f"all {len(nodes)} logs identical: {len(first)} entries; cltd verify passed on each")
    by_index = {e["index"]: e["hash"] for e in logs[1]}
    for index, h, member in receipts:
        if by_index.get(index) != h:
            raise SystemExit(f"FAIL: {member}'s receipt ({index}, {h}) is not in the logs")
    say(f"every one of {len(receipts)} receipts is in every log")
    seen = set()
    for e in logs[1]:
        if e.get("kind") == "transition":
            key = (e["signer"], e["seq"])
            if key in seen:
                raise SystemExit(f"FAIL: signer {e['signer']} used sequence {e['seq']} twice")
            seen.add(key)
    say("no signer's sequence number was used twice")
    say("PASS")


if __name__ == "__main__":
    main()
