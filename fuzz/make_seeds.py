#!/usr/bin/env python3
"""Writes the binary seed files of fuzz/corpus (ttrpc frames and requests, OCI JSON with its
selector byte). Run from anywhere: python3 fuzz/make_seeds.py. The text seeds (TOML, YAML)
are plain files in the corpus. Protobuf is hand-encoded: only varints and length-delimited
fields are needed."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
TASK = "containerd.task.v2.Task"


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, value):
    """One field: int -> varint, bool -> varint, str/bytes -> length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(fld(n, v) for n, v in fields)


def frame(stream, payload, typ=1, flags=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack(">IIBB", n, stream, typ, flags) + payload


def chunked(stream, sizes, limit):
    """A ttrpc_frame_fuzz input: FuzzedDataProvider takes `stream` from the front and, from
    the back, the limit index (1 byte) then each chunk size - 1 (2 bytes, big end last)."""
    assert sum(sizes) == len(stream)
    tail = b"".join(bytes([(n - 1) & 0xFF, (n - 1) >> 8]) for n in reversed(sizes))
    return stream + tail + bytes([limit])


def request(method, payload, service=TASK, extra=b""):
    return msg((1, service), (2, method), (3, payload)) + extra


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


PROCESS = {"user": {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]},
           "args": ["sh", "-c", "echo hi; exit 3"], "env": ["PATH=/usr/bin:/bin", "A=b=c"],
           "cwd": "/tmp", "terminal": True, "consoleSize": {"height": 24, "width": 80},
           "capabilities": {"bounding": ["CAP_CHOWN"]}, "noNewPrivileges": True,
           "oomScoreAdj": -998, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
           "apparmorProfile": "cri-containerd.apparmor.d"}


def ttrpc_seeds():
    connect = frame(3, request("Connect", msg((1, "t1"))))
    # protocol.md 1.2: the observed Connect request and the two responses.
    resp = frame(3, bytes.fromhex("120608917710ae77"), typ=2)
    err = frame(0x31, msg((1, msg((1, 5), (2, "process already finished: not found")))), typ=2)
    write("ttrpc_frame", "connect_request", chunked(connect, [len(connect)], limit=4))
    write("ttrpc_frame", "connect_request_bytewise", chunked(connect, [1] * len(connect), limit=4))
    write("ttrpc_frame", "responses_split", chunked(resp + err, [3, 10, 7, len(resp + err) - 20], limit=4))
    write("ttrpc_frame", "oversized_then_ok",
          chunked(frame(5, b"x" * 400) + frame(7, b"ok"), [13, 200, 197, 12], limit=3))
    write("ttrpc_frame", "oversized_limit_0", chunked(frame(1, b"a") + frame(3, b""), [11, 10], limit=0))
    other = frame(1, b"") + frame(3, b"d", typ=3, flags=5) + frame(0xFFFFFFFF, b"\x00" * 9)
    write("ttrpc_frame", "empty_and_streaming_types", chunked(other, [len(other)], limit=2))
    write("ttrpc_frame", "truncated_header", chunked(connect[:7], [7], limit=4))
    huge = struct.pack(">IIBB", 0xFFFFFFFF, 1, 1, 0) + b"abc"
    write("ttrpc_frame", "huge_length_header", chunked(huge, [len(huge)], limit=4))

    spec_any = msg((1, "types.containerd.io/opencontainers/runtime-spec/1/Process"),
                   (2, json.dumps(PROCESS)))
    calls = [
        ("create", "Create", msg((1, "c1"), (2, "/nonexistent/bundle/c1"), (4, True),
                                 (5, "/run/fifo/stdin"), (6, "/run/fifo/stdout"), (7, "/run/fifo/stderr"),
                                 (3, msg((1, "overlay"), (2, "overlay"), (4, "lowerdir=/a"))))),
        ("create_bad_id", "Create", msg((1, "../etc"), (2, "/b"))),
        ("create_relative_bundle", "Create", msg((1, "c1"), (2, "bundle"))),
        ("create_checkpoint", "Create", msg((1, "c1"), (2, "/b"), (8, "/ckpt"))),
        ("start", "Start", msg((1, "c1"))),
        ("start_exec", "Start", msg((1, "c1"), (2, "e1"))),
        ("delete", "Delete", msg((1, "c1"))),
        ("exec", "Exec", msg((1, "c1"), (2, "e1"), (3, True), (6, "/run/fifo/err"), (7, spec_any))),
        ("state", "State", msg((1, "c1"), (2, "e1"))),
        ("wait", "Wait", msg((1, "c1"))),
        ("kill", "Kill", msg((1, "c1"), (3, 9), (4, True))),
        ("kill_bad_signal", "Kill", msg((1, "c1"), (3, 1000))),
        ("pids", "Pids", msg((1, "c1"))),
        ("closeio", "CloseIO", msg((1, "c1"), (3, True))),
        ("resize", "ResizePty", msg((1, "c1"), (3, 80), (4, 24))),
        ("update", "Update", msg((1, "c1"), (3, msg((1, "k"), (2, "v"))))),
        ("pause", "Pause", msg((1, "c1"))),
        ("resume", "Resume", msg((1, "c1"))),
        ("checkpoint", "Checkpoint", msg((1, "c1"), (2, "/ckpt"))),
        ("stats", "Stats", msg((1, "c1"))),
        ("connect", "Connect", msg((1, "t1"))),
        ("shutdown", "Shutdown", msg((1, "c1"), (2, True))),
    ]
    for name, method, payload in calls:
        write("ttrpc_dispatch", name, frame(1, request(method, payload)))
    # Whole connections and the error paths of the router.
    meta = msg((4, 5000000000), (5, msg((1, "containerd-namespace"), (2, "k8s.io"))))
    seq = b"".join(frame(2 * i + 1, request(m, p, extra=meta)) for i, (_, m, p) in enumerate(calls))
    write("ttrpc_dispatch", "all_methods_one_stream", seq)
    write("ttrpc_dispatch", "router_errors",
          frame(2, request("State", b"")) +                      # even stream id
          frame(3, b"\xff\xff\xff") +                             # Request does not parse
          frame(5, request("Nope", b"")) +                        # unknown method
          frame(7, request("State", b"", service="grpc.Health")) +  # unknown service
          frame(9, request("Kill", b"\x0a\xff")) +                # payload does not parse
          frame(11, b"", typ=2) +                                 # a response: skipped
          frame(13, b"x" * 16, length=(4 << 20) + 1))             # oversized: ResourceExhausted


def oci_seeds():
    cri_container = {
        "ociVersion": "1.1.0", "process": PROCESS, "root": {"path": "rootfs", "readonly": False},
        "hostname": "node-1",
        "mounts": [{"destination": "/data", "type": "bind", "source": "/var/lib/kubelet/pods/x/volumes/data",
                    "options": ["rbind", "rprivate", "rw"]},
                   {"destination": "/etc/resolv.conf", "type": "bind", "source": "/var/lib/containerd/resolv.conf",
                    "options": ["rbind", "ro"]},
                   {"destination": "/proc", "type": "proc", "source": "proc"}],
        "annotations": {"io.kubernetes.cri.container-type": "container",
                        "io.kubernetes.cri.sandbox-id": "0123456789abcdef" * 4,
                        "io.kubernetes.cri.sandbox-namespace": "team-a",
                        "reaper.runtime/overlay-name": "build", "reaper.runtime/dns-mode": "kubernetes"},
        "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                                 {"type": "network", "path": "/proc/1/ns/net"}],
                  "resources": {"memory": {"limit": 1 << 30}}, "cgroupsPath": "kubepods-besteffort:cri:c1"}}
    sandbox = {"ociVersion": "1.1.0", "annotations": {"io.kubernetes.cri.container-type": "sandbox",
                                                       "io.kubernetes.cri.sandbox-namespace": "default"},
               "linux": {"namespaces": [{"type": "network"}]}}
    tricky = ('{"process":{"args":["\\u0000","\\ud83d\\ude00","x"],"env":["A=\\"q\\"","B="],'
              '"user":{"uid":4294967294,"gid":0,"umask":18,"additionalGids":[]},"cwd":"/",'
              '"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":0}],"oomScoreAdj":-1000},'
              '"annotations":{"io.containerd.runc.v2.group":"g","":""},"mounts":[],"process":null}')
    write("oci_spec", "spec_cri_container", b"\x00" + json.dumps(cri_container, indent=1).encode())
    write("oci_spec", "spec_cri_sandbox", b"\x00" + json.dumps(sandbox).encode())
    write("oci_spec", "spec_tricky_values", b"\x00" + tricky.encode())
    write("oci_spec", "spec_bad_types", b"\x00" + b'{"process":{"args":"sh","env":{},"user":{"uid":1.5},'
                                                  b'"rlimits":[{"type":7}],"cwd":1},"mounts":{}}')
    write("oci_spec", "process_exec", b"\x01" + json.dumps(PROCESS).encode())
    write("oci_spec", "process_minimal", b"\x01" + b'{"args":["true"],"cwd":"/"}')
    write("oci_spec", "process_deep", b"\x01" + b'{"args":["x"],"env":' + b"[" * 64 + b"]" * 64 + b"}")


def message_codec_seeds():
    """A selector byte (the message type, modulo the number of types) and one encoding with
    every wire type: varint, length-delimited (a nested message), fixed64, fixed32, a group."""
    body = (msg((1, "a"), (2, 7), (3, msg((1, "k"), (2, "v")))) + varint(4 << 3) + varint(2**64 - 1)
            + varint(5 << 3 | 1) + bytes(8) + varint(6 << 3 | 5) + bytes(4)
            + varint(7 << 3 | 3) + fld(1, 1) + varint(7 << 3 | 4))
    for k in range(0, 70, 7):
        write("message_codec", f"type{k:02d}", bytes([k]) + body)
    write("message_codec", "packed", bytes([56]) + fld(4, bytes([1, 0xac, 2])))


if __name__ == "__main__":
    ttrpc_seeds()
    message_codec_seeds()
    oci_seeds()
