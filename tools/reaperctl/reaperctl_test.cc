// Unit tests of reaperctl's pure parts: arguments and numbers, manifests, CRI messages, log
// records, the log follower's offsets, tail and policy (and its I/O loop over a temp file with
// a scripted runtime), WebSocket codec, exec status.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli_args.h"
#include "commands.h"
#include "cri_log.h"
#include "errors.h"
#include "log_follow.h"
#include "pod_config.h"
#include "pod_lookup.h"
#include "pod_manifest.h"
#include "stream_session.h"
#include "websocket.h"

namespace reaperctl {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Args, OptionsAnywhereCombinedShortAndDashDash) {
  std::vector<OptionSpec> specs = {{"stdin", 'i', false}, {"tty", 't', false},
                                   {"container", 'c', true}, {"timeout", 0, true}};
  auto a = ParseArgs({"-it", "pod1", "-c", "main", "--timeout=3", "--", "sh", "-c", "x"}, specs);
  EXPECT_TRUE(a.Has("stdin"));
  EXPECT_TRUE(a.Has("tty"));
  EXPECT_EQ(a.Get("container").value(), "main");
  EXPECT_EQ(a.Get("timeout").value(), "3");
  ASSERT_EQ(a.positional.size(), 1u);
  EXPECT_EQ(a.positional[0], "pod1");
  EXPECT_EQ(a.after_dashdash, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_NE(ErrorOf([&] { ParseArgs({"--bogus"}, specs); }).find("unknown option --bogus"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { ParseArgs({"-c"}, specs); }).find("needs a value"), std::string::npos);
  EXPECT_EQ(ParseArgs({"-cmain"}, specs).Get("container").value(), "main");
  EXPECT_EQ(ParseSeconds("t", "2"), 2);
  EXPECT_NE(ErrorOf([] { ParseSeconds("t", "-1"); }), "");
}

const char kPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: demo
  namespace: team-a
  labels: {app: demo}
  annotations:
    example.com/x: "1"
spec:
  runtimeClassName: reaper-v2
  hostNetwork: true
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  securityContext: {runAsUser: 1000}
  volumes:
  - name: data
    emptyDir: {}
  - name: host
    hostPath: {path: /srv/x, type: DirectoryOrCreate}
  initContainers:
  - name: setup
    command: [sh, -c, "echo init"]
  containers:
  - name: main
    image: example.com/img:1
    command: [sh, -c]
    args: ["echo $A"]
    env: [{name: A, value: b}]
    workingDir: /tmp
    tty: true
    stdin: true
    stdinOnce: true
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: host, mountPath: /host, readOnly: true}
    securityContext: {runAsUser: 0, runAsGroup: 0}
)";

TEST(Manifest, ParsesEverySupportedField) {
  PodManifest p = ParsePodManifest(kPod, "pod.yaml");
  EXPECT_EQ(p.name, "demo");
  EXPECT_EQ(p.ns, "team-a");
  EXPECT_EQ(p.labels.at("app"), "demo");
  EXPECT_EQ(p.annotations.at("example.com/x"), "1");
  EXPECT_EQ(p.runtime_class_name, "reaper-v2");
  EXPECT_TRUE(p.host_network);
  EXPECT_EQ(p.restart_policy, "Never");
  EXPECT_EQ(p.termination_grace_period.value(), 5);
  ASSERT_EQ(p.init_containers.size(), 1u);
  ASSERT_EQ(p.containers.size(), 1u);
  const auto& c = p.containers[0];
  EXPECT_EQ(c.image, "example.com/img:1");
  EXPECT_EQ(c.args[0], "echo $A");
  EXPECT_EQ(c.env[0].name, "A");
  EXPECT_TRUE(c.tty && c.stdin && c.stdin_once);
  EXPECT_EQ(c.volume_mounts[1].read_only, true);
  EXPECT_EQ(EffectiveRunAsUser(p, c).value(), 0);
  EXPECT_EQ(EffectiveRunAsUser(p, p.init_containers[0]).value(), 1000);
  EXPECT_FALSE(EffectiveRunAsGroup(p, p.init_containers[0]).has_value());
  ASSERT_EQ(p.volumes.size(), 2u);
  EXPECT_EQ(p.volumes[1].host_path_type, "DirectoryOrCreate");
}

TEST(Manifest, UnknownFieldsAreNamed) {
  std::string bad = "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    ports: []\n";
  std::string e = ErrorOf([&] { ParsePodManifest(bad, "p.yaml"); });
  EXPECT_NE(e.find("p.yaml:6: spec.containers[0].ports: unknown field"), std::string::npos) << e;
  e = ErrorOf([] { ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: {nodeName: x, containers: [{name: c}]}\n", "p"); });
  EXPECT_NE(e.find("spec.nodeName: unknown field"), std::string::npos) << e;
  e = ErrorOf([] { ParsePodManifest("kind: Pod\nmetadata: {name: a, uid: x}\nspec: {containers: [{name: c}]}\n", "p"); });
  EXPECT_NE(e.find("metadata.uid: unknown field"), std::string::npos) << e;
}

TEST(Manifest, Validation) {
  auto err = [](const std::string& spec) {
    return ErrorOf([&] { ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: " + spec, "p"); });
  };
  EXPECT_NE(err("{containers: []}").find("at least one container"), std::string::npos);
  EXPECT_NE(err("{containers: [{name: c}, {name: c}]}").find("duplicate container name"), std::string::npos);
  EXPECT_NE(err("{containers: [{name: c, volumeMounts: [{name: v, mountPath: /v}]}]}").find("no volume named"), std::string::npos);
  EXPECT_NE(err("{containers: [{name: c, securityContext: {runAsGroup: 1}}]}").find("requires runAsUser"), std::string::npos);
  EXPECT_NE(err("{restartPolicy: Sometimes, containers: [{name: c}]}").find("must be Always"), std::string::npos);
  EXPECT_NE(err("{containers: [{name: C_1}]}").find("invalid name"), std::string::npos);
  EXPECT_NE(err("{hostNetwork: maybe, containers: [{name: c}]}").find("expected true or false"), std::string::npos);
  EXPECT_NE(ErrorOf([] { ParsePodManifest("kind: Deployment\n", "p"); }).find("kind: must be Pod"), std::string::npos);
  EXPECT_NE(ErrorOf([] { ParsePodManifest("a: [", "p"); }).find("invalid YAML"), std::string::npos);
}

// Found by fuzz/pod_manifest_fuzz (corpus: fuzz/corpus/pod_manifest/stray_comma.yaml): yaml-cpp's
// LoadAll never returned on a document starting with ','.
TEST(Manifest, StrayCommaIsAnErrorNotAHang) {
  EXPECT_NE(ErrorOf([] { ParsePodManifest(",", "p"); }).find("p:1: invalid YAML: unexpected ','"), std::string::npos);
  std::string e = ErrorOf([] { ParsePodManifest("# c\nkind: Pod\n, b", "p"); });
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
  EXPECT_EQ(ParsePodManifest("---\n---\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n...\n---\n", "p").name, "a");
}

TEST(PodConfig, KubeletShapedMessages) {
  PodManifest p = ParsePodManifest(kPod, "pod.yaml");
  PodPlan plan{"uid-1", HandlerFor(p), "/logs/team-a_demo_uid-1", "/root/pods/uid-1/volumes", "img:def"};
  auto sb = BuildSandboxConfig(p, plan);
  EXPECT_EQ(sb.metadata().name(), "demo");
  EXPECT_EQ(sb.metadata().namespace_(), "team-a");
  EXPECT_EQ(sb.metadata().uid(), "uid-1");
  EXPECT_EQ(sb.hostname(), "");  // host network: kubelet leaves it empty
  EXPECT_EQ(sb.log_directory(), "/logs/team-a_demo_uid-1");
  EXPECT_EQ(sb.labels().at(kLabelPodName), "demo");
  EXPECT_EQ(sb.annotations().at("example.com/x"), "1");
  EXPECT_EQ(sb.linux().security_context().namespace_options().network(), runtime::v1::NODE);

  auto init = BuildContainerConfig(p, plan, p.init_containers[0], true, 0, 0);
  EXPECT_EQ(init.image().image(), "img:def");
  EXPECT_EQ(init.log_path(), "setup/0.log");
  EXPECT_EQ(init.annotations().at(kAnnoKind), "init");
  EXPECT_EQ(init.linux().security_context().run_as_user().value(), 1000);
  EXPECT_FALSE(init.linux().security_context().has_run_as_group());

  auto c = BuildContainerConfig(p, plan, p.containers[0], false, 0, 2);
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.log_path(), "main/2.log");
  EXPECT_EQ(c.working_dir(), "/tmp");
  ASSERT_EQ(c.mounts_size(), 2);
  EXPECT_EQ(c.mounts(0).host_path(), "/root/pods/uid-1/volumes/data");
  EXPECT_EQ(c.mounts(1).host_path(), "/srv/x");
  EXPECT_TRUE(c.mounts(1).readonly());
  EXPECT_TRUE(c.tty() && c.stdin() && c.stdin_once());
  EXPECT_EQ(c.annotations().at(kAnnoGracePeriod), "5");
  EXPECT_EQ(c.linux().security_context().run_as_group().value(), 0);

  plan.default_image.clear();
  EXPECT_NE(ErrorOf([&] { BuildContainerConfig(p, plan, p.init_containers[0], true, 0, 0); })
                .find("has no image"),
            std::string::npos);
  PodManifest q = ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n", "p");
  EXPECT_EQ(HandlerFor(q), "reaper-v2");
  // Privileges: capabilities, seccompProfile, readOnlyRootFilesystem, allowPrivilegeEscalation.
  plan.default_image = "img:def";
  EXPECT_FALSE(BuildContainerConfig(q, plan, q.containers[0], false, 0, 0).linux().security_context().has_seccomp());
  PodManifest s = ParsePodManifest(
      "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, securityContext: {capabilities: "
      "{add: [NET_ADMIN], drop: [ALL]}, seccompProfile: {type: RuntimeDefault}, readOnlyRootFilesystem: true, "
      "allowPrivilegeEscalation: false}}]}\n", "p");
  auto sc = BuildContainerConfig(s, plan, s.containers[0], false, 0, 0).linux().security_context();
  EXPECT_EQ(sc.capabilities().add_capabilities(0), "NET_ADMIN");
  EXPECT_EQ(sc.capabilities().drop_capabilities(0), "ALL");
  EXPECT_EQ(sc.seccomp().profile_type(), runtime::v1::SecurityProfile::RuntimeDefault);
  EXPECT_TRUE(sc.has_seccomp());
  EXPECT_TRUE(sc.readonly_rootfs());
  EXPECT_TRUE(sc.no_new_privs());
  EXPECT_NE(ErrorOf([] { ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, "
                                          "securityContext: {seccompProfile: {type: Localhost}}}]}\n", "p"); })
                .find("localhostProfile is required"),
            std::string::npos);
  EXPECT_EQ(BuildSandboxConfig(q, plan).hostname(), "a");
}

TEST(CriLog, ParsesRecordsAndJoinsPartials) {
  auto r = ParseCriLogRecord("2026-11-28T17:06:07.908972041Z stderr F err 0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stream, "stderr");
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->text, "err 0");
  EXPECT_FALSE(ParseCriLogRecord("garbage"));
  EXPECT_FALSE(ParseCriLogRecord("t stdin F x"));
  std::string buf =
      "t1 stdout P abc\nt2 stdout F def\nt3 stderr F \nt4 stdout F  two  spaces\nt5 stdout F unfinished";
  std::string out;
  DecodeCriLog(buf, out);
  EXPECT_EQ(out, "abcdef\n\n two  spaces\n");
  EXPECT_EQ(buf, "t5 stdout F unfinished");
}

TEST(WebSocket, Sha1Base64AndAccept) {
  auto d = Sha1("abc");
  EXPECT_EQ(Base64Encode(std::string(reinterpret_cast<const char*>(d.data()), 20)),
            "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  // RFC 6455 §1.3's example.
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string big(1000, 'a');
  auto b = Sha1(big);  // multi-block
  EXPECT_EQ(Base64Encode(std::string(reinterpret_cast<const char*>(b.data()), 20)),
            "KR6abGaZSUm1e6XmUDYemPw2sbo=");
}

TEST(WebSocket, FrameRoundTripAllLengths) {
  for (size_t n : {0u, 5u, 125u, 126u, 65535u, 65536u, 70000u}) {
    std::string payload(n, 'x');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    std::string f = EncodeClientFrame(kWsBinary, payload, {1, 2, 3, 4});
    WsFrameDecoder d;
    d.Feed(std::string_view(f).substr(0, f.size() / 2));
    if (f.size() > 1) {
      EXPECT_FALSE(d.Next().has_value());
    }
    d.Feed(std::string_view(f).substr(f.size() / 2));
    auto fr = d.Next();
    ASSERT_TRUE(fr) << n;
    EXPECT_TRUE(fr->fin);
    EXPECT_EQ(fr->opcode, kWsBinary);
    EXPECT_EQ(fr->payload, payload);
    EXPECT_FALSE(d.Next());
  }
  WsFrameDecoder d;  // unmasked server frame
  d.Feed(std::string("\x82\x03\x01hi", 5));
  auto fr = d.Next();
  ASSERT_TRUE(fr);
  EXPECT_EQ(fr->payload, std::string("\x01hi"));
  WsFrameDecoder bad;
  bad.Feed(std::string("\xf2\x00", 2));
  EXPECT_NE(ErrorOf([&] { bad.Next(); }), "");
}

TEST(WebSocket, ParsesHttpUrls) {
  auto u = ParseHttpUrl("http://127.0.0.1:41234/exec/AbC");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 41234);
  EXPECT_EQ(u.target, "/exec/AbC");
  u = ParseHttpUrl("http://[::1]:99");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.target, "/");
  EXPECT_NE(ErrorOf([] { ParseHttpUrl("https://x/y"); }).find("TLS"), std::string::npos);
}

TEST(Stream, ExitCodeFromStatus) {
  std::string msg;
  EXPECT_EQ(ExitCodeFromStatus(R"({"metadata":{},"status":"Success"})", &msg).value(), 0);
  EXPECT_EQ(ExitCodeFromStatus(
                R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})",
                &msg)
                .value(),
            3);
  EXPECT_FALSE(ExitCodeFromStatus(R"({"status":"Failure","message":"boom"})", &msg));
  EXPECT_EQ(msg, "boom");
  EXPECT_FALSE(ExitCodeFromStatus("not json", &msg));
}

runtime::v1::Container C(const std::string& name, uint32_t attempt, bool init, int index) {
  runtime::v1::Container c;
  c.set_id(name + std::to_string(attempt));
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_attempt(attempt);
  (*c.mutable_annotations())[kAnnoKind] = init ? "init" : "app";
  (*c.mutable_annotations())[kAnnoIndex] = std::to_string(index);
  return c;
}

TEST(Lookup, LatestAttemptsAndDefaultContainer) {
  std::vector<runtime::v1::Container> all = {C("b", 0, false, 1), C("a", 0, false, 0),
                                             C("a", 1, false, 0), C("i", 0, true, 0)};
  auto latest = LatestAttempts(all);
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0].id(), "i0");
  EXPECT_EQ(latest[1].id(), "a1");
  EXPECT_EQ(latest[2].id(), "b0");
  EXPECT_EQ(PickContainer(all, "", "p").id(), "a1");
  EXPECT_EQ(PickContainer(all, "b", "p").id(), "b0");
  EXPECT_NE(ErrorOf([&] { PickContainer(all, "zz", "p"); }).find("it has: i (init), a, b"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Numbers: whole-string parsing everywhere, errors naming the flag (issue 12, defect 8).

TEST(Numbers, WholeStringIntegers) {
  EXPECT_EQ(ParseInteger("0", 0, 10).value(), 0);
  EXPECT_EQ(ParseInteger("-1", -1, 10).value(), -1);
  EXPECT_EQ(ParseInteger("9223372036854775807", 0, INT64_MAX).value(), INT64_MAX);
  for (const char* bad : {"3abc", " 3", "3 ", "+3", "3.0", "", "-", "0x10", "1e3", "3\n",
                          "99999999999999999999", "11", "-2"})
    EXPECT_FALSE(ParseInteger(bad, -1, 10)) << '"' << bad << '"';
}

TEST(Numbers, OptionErrorsNameTheFlag) {
  EXPECT_EQ(ParseSeconds("timeout", "2"), 2);
  EXPECT_EQ(ParseSeconds("timeout", "0"), 0);
  for (const char* bad : {"3abc", "3s", " 3", "+3", "-1", "", "1.5", "100000001"}) {
    std::string e = ErrorOf([&] { ParseSeconds("timeout", bad); });
    EXPECT_NE(e.find("--timeout: expected an integer from 0 to 100000000 (seconds), got \"" +
                     std::string(bad) + "\""),
              std::string::npos)
        << e;
  }
  EXPECT_EQ(ParseIntOption("tail", "-1", -1, 5, "lines"), -1);
  EXPECT_NE(ErrorOf([] { ParseIntOption("tail", "3abc", -1, 5, "lines"); }).find("--tail:"),
            std::string::npos);
}

TEST(Numbers, Sizes) {
  EXPECT_EQ(ParseBytes("memory", "100000000"), 100000000);
  EXPECT_EQ(ParseBytes("memory", "64Mi"), 64 << 20);
  EXPECT_EQ(ParseBytes("memory", "1G"), 1000000000);
  EXPECT_EQ(ParseBytes("memory", "1k"), 1000);
  EXPECT_EQ(ParseBytes("memory", "2Ki"), 2048);
  EXPECT_EQ(ParseBytes("memory", "7Ei"), int64_t{7} << 60);
  for (const char* bad : {"3abc", "64MB", "64 Mi", "Mi", "-1", "0", "0Gi", "1.5Gi", "8Ei",
                          "99999999999999999999", "", " 1"}) {
    std::string e = ErrorOf([&] { ParseBytes("memory", bad); });
    EXPECT_EQ(e.rfind("--memory: expected a size in bytes", 0), 0u) << bad << ": " << e;
  }
}

// Each command checks its numbers before it talks to the runtime (no socket here).
TEST(Numbers, CommandsRejectTrailingGarbage) {
  GlobalOptions g;
  g.endpoint = "unix:///nonexistent/reaperctl-test.sock";
  g.quiet = true;
  struct Case {
    int (*cmd)(GlobalOptions, const std::vector<std::string>&);
    std::vector<std::string> words;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {CmdLogs, {"--tail", "3abc", "p"}, "--tail:"},
      {CmdLogs, {"-f", "--reconnect-timeout=3abc", "p"}, "--reconnect-timeout:"},
      {CmdExec, {"--timeout", "3abc", "p", "--", "true"}, "--timeout:"},
      {CmdStop, {"--timeout", "3abc", "p"}, "--timeout:"},
      {CmdRm, {"--grace", "3abc", "p"}, "--grace:"},
      {CmdUpdate, {"--cpu-shares", "3abc", "p"}, "--cpu-shares:"},
      {CmdUpdate, {"--memory", "3abc", "p"}, "--memory:"},
      {CmdRun, {"--timeout", "3abc", "-f", "/nonexistent.yaml"}, "--timeout:"},
  };
  for (const auto& c : cases) {
    int code = 0;
    std::string e;
    try {
      c.cmd(g, c.words);
    } catch (const Error& err) {
      e = err.what();
      code = err.exit_code();
    }
    EXPECT_EQ(e.rfind(c.flag, 0), 0u) << c.words[0] << " " << c.words[1] << ": " << e;
    EXPECT_EQ(code, kExitUsage) << e;
  }
  EXPECT_NE(ErrorOf([&] { CmdLogs(g, {"--reconnect-timeout", "5", "p"}); }).find("needs -f"),
            std::string::npos);
}

TEST(Numbers, PortsExitCodesIndexesAndManifests) {
  EXPECT_EQ(ParseHttpUrl("http://h:80/x").port, 80);
  for (const char* bad : {"http://h:80abc/x", "http://h:+80/", "http://h: 80/", "http://h:0/",
                          "http://h:65536/", "http://[::1]:8x/"})
    EXPECT_NE(ErrorOf([&] { ParseHttpUrl(bad); }).find("bad port"), std::string::npos) << bad;
  std::string msg;
  EXPECT_FALSE(ExitCodeFromStatus(
      R"({"status":"Failure","message":"m","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3abc"}]}})",
      &msg));
  EXPECT_EQ(msg, "m");
  // An index annotation that is not a number sorts last instead of as its leading digits.
  auto x = C("x", 0, false, 0), y = C("y", 0, false, 0);
  (*x.mutable_annotations())[kAnnoIndex] = "0abc";
  (*y.mutable_annotations())[kAnnoIndex] = "1";
  auto latest = LatestAttempts({x, y});
  EXPECT_EQ(latest[0].id(), "y0");
  std::string e = ErrorOf([] {
    ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: {terminationGracePeriodSeconds: 3abc, containers: [{name: c}]}\n", "p");
  });
  EXPECT_NE(e.find("terminationGracePeriodSeconds: expected an integer"), std::string::npos) << e;
}

// ---------------------------------------------------------------------------
// The log follower's pure parts.

const std::string kLog =
    "2026-01-01T00:00:00.1Z stdout F zero\n"
    "2026-01-01T00:00:00.2Z stdout P par\n"
    "2026-01-01T00:00:00.3Z stdout F tial\n"
    "2026-01-01T00:00:00.4Z stderr F \n"
    "garbage line\n"
    "2026-01-01T00:00:00.5Z stdout F five\n";
const std::string kText = "zero\npartial\n\ngarbage line\nfive\n";

TEST(LogCursor, EveryChunkingGivesTheSameTextOnce) {
  for (size_t step = 1; step <= kLog.size(); ++step) {
    LogCursor c;
    std::string out;
    for (size_t off = 0; off < kLog.size(); off += step) {
      out += c.Feed(std::string_view(kLog).substr(off, step));
      EXPECT_EQ(c.read(), std::min(kLog.size(), off + step));
      // printed() is the end of a record: a '\n' just before it (or the start)
      EXPECT_TRUE(c.printed() == 0 || kLog[c.printed() - 1] == '\n') << step << " " << off;
      EXPECT_EQ(c.read() - c.printed(), c.pending());
    }
    EXPECT_EQ(out, kText) << "chunks of " << step;
    EXPECT_EQ(c.printed(), kLog.size());
    EXPECT_EQ(c.Finish(), "");
  }
}

// Stopping anywhere and resuming at printed() with a fresh cursor (a reopened file) repeats no
// line and skips none.
TEST(LogCursor, ResumeAtPrintedOffsetIsExactlyOnce) {
  for (size_t cut = 0; cut <= kLog.size(); ++cut) {
    LogCursor first;
    std::string out = first.Feed(std::string_view(kLog).substr(0, cut));
    LogCursor second(first.printed());
    out += second.Feed(std::string_view(kLog).substr(first.printed()));
    EXPECT_EQ(out, kText) << "cut at " << cut;
    // the same with the cursor kept (the follower keeps its file open): read() goes on
    LogCursor kept;
    std::string out2 = kept.Feed(std::string_view(kLog).substr(0, cut));
    out2 += kept.Feed(std::string_view(kLog).substr(kept.read()));
    EXPECT_EQ(out2, kText) << "cut at " << cut;
  }
}

TEST(LogCursor, FinishAndRestart) {
  LogCursor c(100);
  EXPECT_EQ(c.Feed("t stdout F done\nt stdout F unfini"), "done\n");
  EXPECT_EQ(c.read(), 100u + 33u);
  EXPECT_EQ(c.printed(), 100u + 16u);
  EXPECT_EQ(c.Finish(), "unfini\n");  // the end for good: what there is, with a newline
  EXPECT_EQ(c.pending(), 0u);
  EXPECT_EQ(c.Feed("t stdout P a"), "");
  c.Restart(0);  // truncated: the unfinished record is dropped
  EXPECT_EQ(c.read(), 0u);
  EXPECT_EQ(c.Feed("t stdout F new\n"), "new\n");
}

TEST(LogCursor, ComparesTheOpenFileWithThePath) {
  FileIdentity open{1, 42, 500};
  EXPECT_EQ(CompareLogFile(open, FileIdentity{1, 42, 500}, 500), LogFileChange::kSame);
  EXPECT_EQ(CompareLogFile(open, FileIdentity{1, 42, 500}, 300), LogFileChange::kSame);
  EXPECT_EQ(CompareLogFile(open, FileIdentity{1, 43, 10}, 500), LogFileChange::kReplaced);
  EXPECT_EQ(CompareLogFile(open, FileIdentity{2, 42, 10}, 500), LogFileChange::kReplaced);
  EXPECT_EQ(CompareLogFile(open, std::nullopt, 500), LogFileChange::kMissing);
  EXPECT_EQ(CompareLogFile(FileIdentity{1, 42, 20}, FileIdentity{1, 42, 20}, 500),
            LogFileChange::kTruncated);
  EXPECT_EQ(CompareLogFile(FileIdentity{1, 42, 20}, std::nullopt, 500), LogFileChange::kTruncated);
}

// The reference: the offset after the (n+1)-th newline from the end, 0 if there are fewer.
uint64_t NaiveTail(const std::string& data, int64_t n) {
  if (n < 0) return 0;
  int64_t seen = 0;
  for (size_t i = data.size(); i-- > 0;)
    if (data[i] == '\n' && ++seen == n + 1) return i + 1;
  return 0;
}

uint64_t Tail(const std::string& data, int64_t n, size_t block) {
  TailScanner s(data.size(), n);
  while (!s.done()) {
    size_t end = s.next_block_end(), len = std::min(block, end);
    s.FeedBackwards(std::string_view(data).substr(end - len, len));
  }
  return s.start();
}

TEST(LogTail, LastRecordsFromTheEnd) {
  const std::string unfinished = kLog + "2026 stdout F being writ";
  for (const std::string* data : {&kLog, &unfinished})
    for (int64_t n : {-1, 0, 1, 2, 3, 5, 6, 7, 100})
      for (size_t block : {1, 2, 7, 64, 65536})
        EXPECT_EQ(Tail(*data, n, block), NaiveTail(*data, n)) << n << " " << block;
  EXPECT_EQ(Tail(kLog, 1, 5), kLog.rfind("2026-01-01T00:00:00.5Z"));
  EXPECT_EQ(Tail(kLog, 0, 5), kLog.size());
  EXPECT_EQ(Tail(unfinished, 0, 5), kLog.size());  // the record being written follows
  EXPECT_EQ(Tail("", 3, 5), 0u);
  EXPECT_EQ(Tail("no newline", 1, 3), 0u);
}

using Clock = FollowPolicy::Clock;
using ms = FollowPolicy::ms;
const ProbeResult kRunning{ContainerProbe::kRunning, ""};
const ProbeResult kDown{ContainerProbe::kUnreachable, "ContainerStatus: connection refused"};

TEST(FollowPolicy, ChecksWhileAnsweredStopsWhenGone) {
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  FollowPolicy p({}, t0);
  EXPECT_EQ(p.next_probe(), t0);  // at once
  auto s = p.OnProbe(kRunning, t0);
  EXPECT_EQ(s.action, FollowPolicy::Action::kContinue);
  EXPECT_EQ(s.change, FollowPolicy::Change::kNone);
  EXPECT_EQ(p.next_probe(), t0 + ms(1000));
  p.ProbeSoon(t0 + ms(10));  // the writer closed the file
  EXPECT_EQ(p.next_probe(), t0 + ms(10));
  EXPECT_EQ(p.OnProbe({ContainerProbe::kExited, ""}, t0 + ms(10)).action,
            FollowPolicy::Action::kStop);
  FollowPolicy q({}, t0);
  EXPECT_EQ(q.OnProbe({ContainerProbe::kRemoved, ""}, t0).action, FollowPolicy::Action::kStop);
}

TEST(FollowPolicy, BacksOffReconnectsAndResets) {
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  FollowPolicy p({}, t0);
  auto now = t0;
  std::vector<int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    auto s = p.OnProbe(kDown, now);
    EXPECT_EQ(s.action, FollowPolicy::Action::kContinue);
    EXPECT_EQ(s.change, i == 0 ? FollowPolicy::Change::kLost : FollowPolicy::Change::kNone);
    EXPECT_TRUE(p.reconnecting());
    delays.push_back(std::chrono::duration_cast<ms>(p.next_probe() - now).count());
    p.ProbeSoon(now);  // no effect while reconnecting: the back-off stands
    EXPECT_EQ(std::chrono::duration_cast<ms>(p.next_probe() - now).count(), delays.back());
    now = p.next_probe();
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1600, 2000, 2000, 2000}));
  EXPECT_EQ(p.last_error(), kDown.error);
  EXPECT_EQ(p.lost_since(), t0);
  auto s = p.OnProbe(kRunning, now);
  EXPECT_EQ(s.change, FollowPolicy::Change::kRegained);
  EXPECT_FALSE(p.reconnecting());
  EXPECT_EQ(p.next_probe(), now + ms(1000));
  p.OnProbe(kDown, now + ms(1000));  // a new outage starts the back-off over
  EXPECT_EQ(p.next_probe(), now + ms(1100));
}

// Probing at every next_probe() while the runtime is down: when does it give up?
Clock::time_point GiveUpTime(FollowPolicy& p, Clock::time_point now,
                             const std::vector<Clock::time_point>& growth = {}) {
  size_t g = 0;
  for (int i = 0; i < 10000; ++i) {
    while (g < growth.size() && growth[g] <= now) p.OnLogGrowth(growth[g++]);
    if (p.OnProbe(kDown, now).action == FollowPolicy::Action::kGiveUp) return now;
    now = p.next_probe();
  }
  ADD_FAILURE() << "never gave up";
  return now;
}

TEST(FollowPolicy, GivesUpAfterTheBoundWithoutAnswerOrOutput) {
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  FollowPolicy::Params params;
  params.give_up_after = ms(60000);
  {
    FollowPolicy p(params, t0);
    p.OnProbe(kRunning, t0);
    // last answer at t0, first failure a second later: the bound counts from the last answer
    EXPECT_EQ(GiveUpTime(p, t0 + ms(1000)), t0 + ms(60000));
  }
  {
    // output while the runtime is away postpones giving up (the container is alive)
    FollowPolicy p(params, t0);
    p.OnProbe(kRunning, t0);
    auto at = GiveUpTime(p, t0 + ms(1000), {t0 + ms(30000), t0 + ms(50000)});
    EXPECT_EQ(at, t0 + ms(110000));
  }
  {
    params.give_up_after = ms(0);  // --reconnect-timeout 0: at the first failure
    FollowPolicy p(params, t0);
    p.OnProbe(kRunning, t0);
    auto s = p.OnProbe(kDown, t0 + ms(5));
    EXPECT_EQ(s.action, FollowPolicy::Action::kGiveUp);
    EXPECT_EQ(s.change, FollowPolicy::Change::kLost);
  }
}

// ---------------------------------------------------------------------------
// The follower's I/O loop (PrintCriLog) over a temp file, the runtime scripted by the probe.

class FollowLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reaperctl-follow-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/0.log";
    out_path_ = dir_ + "/out";
    out_fd_ = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(out_fd_, 0);
    opts_.follow = true;
    opts_.out_fd = out_fd_;
    opts_.policy.check_interval = ms(5);
    opts_.policy.first_retry = ms(1);
    opts_.policy.max_retry = ms(4);
    opts_.note = [this](const std::string& l) { notes_ += l + "\n"; };
  }
  void TearDown() override {
    if (out_fd_ >= 0) close(out_fd_);
    std::filesystem::remove_all(dir_);
  }
  // Appends counter records first..last-1 to the file at `path` (one write each, as containerd).
  static void Append(const std::string& path, int first, int last) {
    std::ofstream f(path, std::ios::app);
    for (int i = first; i < last; ++i) f << "2026-01-01T00:00:00Z stdout F " << i << "\n" << std::flush;
  }
  static std::string Counter(int first, int last) {
    std::string s;
    for (int i = first; i < last; ++i) s += std::to_string(i) + "\n";
    return s;
  }
  std::string Out() const {
    std::ifstream f(out_path_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  std::string dir_, path_, out_path_, notes_;
  int out_fd_ = -1;
  LogOptions opts_;
};

// The runtime goes away for a while (containerd restarting) while the file keeps growing
// before and after: every line once, in order; the end comes with the container's exit.
TEST_F(FollowLoop, SurvivesAnOutageAndEndsWhenTheContainerExits) {
  Append(path_, 0, 10);
  int calls = 0, next = 10;
  opts_.probe = [&]() -> ProbeResult {
    ++calls;
    Append(path_, next, next + 3);  // the container writes on
    next += 3;
    if (calls >= 5 && calls < 15) return kDown;
    if (calls < 25) return kRunning;
    return {ContainerProbe::kExited, ""};
  };
  PrintCriLog(path_, opts_);
  EXPECT_EQ(calls, 25);
  EXPECT_EQ(Out(), Counter(0, next));
  EXPECT_NE(notes_.find("lost the CRI runtime (ContainerStatus: connection refused)"),
            std::string::npos)
      << notes_;
  EXPECT_NE(notes_.find("reconnected to the CRI runtime after"), std::string::npos) << notes_;
}

TEST_F(FollowLoop, GivesUpWithAnErrorAfterPrintingEverything) {
  Append(path_, 0, 7);
  opts_.policy.give_up_after = ms(50);
  opts_.probe = [] { return kDown; };
  opts_.container = "container main of pod p";
  const auto t0 = Clock::now();
  std::string e = ErrorOf([&] { PrintCriLog(path_, opts_); });
  EXPECT_GE(Clock::now() - t0, ms(50));
  EXPECT_NE(e.find("logs -f: stopped following container main of pod p: the CRI runtime has not "
                   "answered for"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("(ContainerStatus: connection refused)"), std::string::npos) << e;
  EXPECT_NE(e.find("--reconnect-timeout"), std::string::npos) << e;
  EXPECT_EQ(Out(), Counter(0, 7));
}

TEST_F(FollowLoop, RotatedAndTruncatedFiles) {
  Append(path_, 0, 5);
  int calls = 0;
  opts_.probe = [&]() -> ProbeResult {
    ++calls;
    if (calls == 3) {  // kubelet's rotation: rename, then the runtime reopens the path
      Append(path_, 5, 8);
      std::filesystem::rename(path_, path_ + ".1");
      Append(path_, 8, 12);
    }
    if (calls == 6) {  // copytruncate
      ::truncate(path_.c_str(), 0);
      Append(path_, 100, 102);
    }
    if (calls < 9) return kRunning;
    return {ContainerProbe::kRemoved, ""};
  };
  PrintCriLog(path_, opts_);
  EXPECT_EQ(Out(), Counter(0, 12) + Counter(100, 102));
  EXPECT_NE(notes_.find("was replaced (rotated)"), std::string::npos) << notes_;
  EXPECT_NE(notes_.find("was truncated"), std::string::npos) << notes_;
}

TEST_F(FollowLoop, TailThenFollowAndWaitForTheFile) {
  int calls = 0;
  opts_.tail = 2;
  opts_.probe = [&]() -> ProbeResult {
    ++calls;
    if (calls == 2) Append(path_, 0, 6);  // the file appears after the follower started
    if (calls < 4) return kRunning;
    if (calls == 4) Append(path_, 6, 8);
    return {ContainerProbe::kExited, ""};
  };
  PrintCriLog(path_, opts_);
  EXPECT_EQ(Out(), Counter(4, 8));
  // not following: the last records, and an unfinished one as it is
  std::ofstream(path_, std::ios::app) << "2026 stdout F writ";
  LogOptions once;
  once.tail = 1;
  once.out_fd = out_fd_;
  ASSERT_EQ(ftruncate(out_fd_, 0), 0);
  ASSERT_EQ(lseek(out_fd_, 0, SEEK_SET), 0);
  PrintCriLog(path_, once);
  EXPECT_EQ(Out(), "7\nwrit\n");
  // a container that is gone before its file appears: nothing, no error
  opts_.tail = -1;
  opts_.probe = [] { return ProbeResult{ContainerProbe::kRemoved, ""}; };
  PrintCriLog(dir_ + "/never.log", opts_);
}

}  // namespace
TEST(PodConfig, ResourceLimitsAsKubeletSendsThem) {
  PodManifest p = ParsePodManifest(
      "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, resources: {limits: {memory: 32Mi, cpu: 500m}}}]}\n", "p");
  ASSERT_EQ(*p.containers[0].memory_limit, 32 << 20);
  ASSERT_EQ(*p.containers[0].cpu_limit_millis, 500);
  PodPlan plan{"uid-1", HandlerFor(p), "/logs", "/vol", "img:def"};
  auto c = BuildContainerConfig(p, plan, p.containers[0], false, 0, 0);
  EXPECT_EQ(c.linux().resources().memory_limit_in_bytes(), 32 << 20);
  EXPECT_EQ(c.linux().resources().cpu_quota(), 50000);
  EXPECT_EQ(c.linux().resources().cpu_period(), 100000);
  EXPECT_EQ(c.linux().resources().cpu_shares(), 512);
  EXPECT_NE(ErrorOf([] {
              ParsePodManifest("kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, resources: {limits: {cpu: x}}}]}\n", "p");
            }).find("CPU quantity"),
            std::string::npos);
}

}  // namespace reaperctl
