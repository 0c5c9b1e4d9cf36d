// Unit tests of reaperctl's pure parts: arguments, manifests, CRI messages, log records,
// WebSocket codec, exec status.
#include <gtest/gtest.h>

#include "cli_args.h"
#include "cri_log.h"
#include "errors.h"
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

}  // namespace
}  // namespace reaperctl
