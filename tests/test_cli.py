"""The command line contract (design.md §3.1) for `--help` and `decode`, run as a user would."""

import json
import subprocess
import sys
from pathlib import Path

import msgpack

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_FIELDS = {"kind", "cid", "sender_id", "sender_nick", "text", "item_id", "order_id", "order_status",
                   "message_id", "created_at"}
KINDS = {"chat", "own_echo", "order", "system", "read_receipt", "session", "arouse", "invalid"}

# The real buyer text '111' (zn_buyer_text_111 in goofish-vectors.json).
BUYER_TEXT = ("ggGLAYEBtTIyMDI2NDA5MTgwNzlAZ29vZmlzaAKzNDc4MTI4NzAwMDBAZ29vZmlzaAOxMzQwMjM5MTQ3MjUwMy5QTk0EAAXPAAABlYW"
              "04bIGggFlA4UBoAKjMTExA6AEAQXaADR7ImF0VXNlcnMiOltdLCJjb250ZW50VHlwZSI6MSwidGV4dCI6eyJ0ZXh0IjoiMTExIn19Bw"
              "IIAQkACoupX3BsYXRmb3Jtp2FuZHJvaWSmYml6VGFn2gBBeyJzb3VyY2VJZCI6IlM6MSIsIm1lc3NhZ2VJZCI6ImYzNjkwMmVmZjQ1ND"
              "Q1YmRiMmQxYjBmZDE2OGY4MjY0In2sZGV0YWlsTm90aWNlozExMadleHRKc29u2gBLeyJxdWlja1JlcGx5IjoiMSIsIm1lc3NhZ2VJZC"
              "I6ImYzNjkwMmVmZjQ1NDQ1YmRiMmQxYjBmZDE2OGY4MjY0IiwidGFnIjoidSJ9r3JlbWluZGVyQ29udGVudKMxMTGucmVtaW5kZXJOb3"
              "RpY2W15Y+R5p2l5LiA5p2h5paw5raI5oGvrXJlbWluZGVyVGl0bGWmc2hh5L+uq3JlbWluZGVyVXJs2gCbZmxlYW1hcmtldDovL21lc3"
              "NhZ2VfY2hhdD9pdGVtSWQ9ODk3NzQyNzQ4MDExJnBlZXJVc2VySWQ9MjIwMjY0MDkxODA3OSZwZWVyVXNlck5pY2s9dCoqKjEmc2lkPT"
              "Q3ODEyODcwMDAwJm1lc3NhZ2VJZD1mMzY5MDJlZmY0NTQ0NWJkYjJkMWIwZmQxNjhmODI2NCZhZHY9bm+sc2VuZGVyVXNlcklkrTIyMD"
              "I2NDA5MTgwNzmuc2VuZGVyVXNlclR5cGWhMKtzZXNzaW9uVHlwZaExDAEDgahuZWVkUHVzaKR0cnVl")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "xianyu.py", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for word in ("check", "decode", "--config", "--db", "--no-tui", "--log-level"):
        assert word in result.stdout


def test_decode_reads_payloads_and_frames_from_stdin():
    frame = {"lwp": "/s/para", "headers": {"mid": "a1b2c3d4 0", "sid": "s"}, "body": {"syncPushPackage": {
        "data": [{"objectType": 40000, "data": BUYER_TEXT}, {"objectType": 40000, "data": BUYER_TEXT}]}}}
    result = run("decode", "-", stdin=f"{BUYER_TEXT}\n\n{json.dumps(frame)}\n")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 3  # one bare payload, and a frame with two data items
    for event in events:
        assert set(event) >= CONTRACT_FIELDS
        assert event["kind"] == "chat"
        assert (event["cid"], event["sender_id"], event["text"], event["item_id"]) == (
            "47812870000", "2202640918079", "111", "897742748011")
        assert event["message_id"] == "f36902eff45445bdb2d1b0fd168f8264"
        assert event["created_at"] == 1741704978866


def test_decode_me_turns_the_sender_into_an_own_echo(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(BUYER_TEXT + "\n", encoding="utf-8")
    event = json.loads(run("decode", "--me", "2202640918079", str(path)).stdout)
    assert event["kind"] == "own_echo"


def test_decode_never_tracebacks_on_bad_input():
    garbage = "\n".join(["{not json", "@@@@", '{"lwp": "/s/para", "body": 5}', "AAAA",
                         __import__("base64").b64encode(msgpack.packb({1: [1, 2]}))[:-3].decode()])
    result = run("decode", stdin=garbage + "\n")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events and all(e["kind"] in KINDS for e in events)
    assert all(e["kind"] == "invalid" and e["error"] for e in events)


def test_decode_missing_file_is_a_clear_error(tmp_path):
    result = run("decode", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr
