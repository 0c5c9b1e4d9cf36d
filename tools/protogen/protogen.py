#!/usr/bin/env python3
"""Generates Reaper's C++ message code from proto/*.proto (docs/design.md "Our own message code").

  protogen.py --cpp OUTDIR -I PROTODIR name.proto...
      writes OUTDIR/name.pb.h and OUTDIR/name.pb.cc: one C++ class per message with the
      accessor subset of protoc's C++ API that Reaper uses, encoding through src/wire/wire.h.
  protogen.py --proto OUTDIR --prefix PKG -I PROTODIR name.proto...
      writes OUTDIR/PKG_name.proto: the same schema under package PKG.<package>, for the
      test-only protoc build that checks our encoding against libprotobuf's.

The proto3 subset understood: syntax, package, import, option (ignored), message (nested
messages too), top-level enum, fields of type string, bytes, bool, int32, int64, uint32,
uint64, enum and message, `repeated` (numeric repeated fields packed, as proto3 does),
`optional` (explicit presence) and map<K, V> with string or integer keys. Anything else is
an error rather than silently wrong code.
"""
import argparse
import os
import re
import sys

SCALARS = {
    # proto type: (C++ type, default, wire kind)
    "string": ("std::string", None, "string"),
    "bytes": ("std::string", None, "bytes"),
    "bool": ("bool", "false", "bool"),
    "int32": ("int32_t", "0", "varint"),
    "int64": ("int64_t", "0", "varint"),
    "uint32": ("uint32_t", "0", "varint"),
    "uint64": ("uint64_t", "0", "varint"),
}


class ProtoError(Exception):
    pass


def tokenize(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.findall(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*|-?\d+|[{}=;<>,\[\]()]|\S', text)


class Field:
    def __init__(self, label, type_, name, number, key=None):
        self.label, self.type, self.name, self.number, self.key = label, type_, name, number, key
        self.resolved = None  # ("scalar", t) | ("enum", Enum) | ("message", Message)


class Message:
    def __init__(self, name, full, package, parent):
        self.name, self.full, self.package, self.parent = name, full, package, parent
        self.fields, self.nested = [], []

    def cpp_name(self):  # protoc's: Outer_Inner for nested messages
        return self.full[len(self.package) + 1:].replace(".", "_") if self.package else self.full.replace(".", "_")


class Enum:
    def __init__(self, name, full, package, values):
        self.name, self.full, self.package, self.values = name, full, package, values

    def cpp_name(self):
        return self.name


class ProtoFile:
    def __init__(self, name):
        self.name, self.package, self.imports, self.messages, self.enums = name, "", [], [], []
        self.options = []

    def all_messages(self):
        out = []

        def walk(m):
            out.append(m)
            for n in m.nested:
                walk(n)
        for m in self.messages:
            walk(m)
        return out


class Parser:
    def __init__(self, tokens, path):
        self.t, self.i, self.path = tokens, 0, path

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def next(self):
        if self.i >= len(self.t):
            raise ProtoError(f"{self.path}: unexpected end of file")
        self.i += 1
        return self.t[self.i - 1]

    def expect(self, tok):
        got = self.next()
        if got != tok:
            raise ProtoError(f"{self.path}: expected {tok!r}, got {got!r}")

    def parse_file(self, pf):
        while self.peek() is not None:
            tok = self.next()
            if tok == "syntax":
                self.expect("=")
                if self.next() != '"proto3"':
                    raise ProtoError(f"{self.path}: only proto3 is supported")
                self.expect(";")
            elif tok == "package":
                pf.package = self.next()
                self.expect(";")
            elif tok == "import":
                pf.imports.append(self.next().strip('"'))
                self.expect(";")
            elif tok == "option":
                opt = []
                while self.peek() != ";":
                    opt.append(self.next())
                self.expect(";")
                pf.options.append(" ".join(opt))
            elif tok == "message":
                pf.messages.append(self.parse_message(pf.package, pf.package, None))
            elif tok == "enum":
                pf.enums.append(self.parse_enum(pf.package))
            else:
                raise ProtoError(f"{self.path}: unsupported {tok!r}")

    def parse_enum(self, package):
        name = self.next()
        self.expect("{")
        values = []
        while self.peek() != "}":
            vname = self.next()
            self.expect("=")
            values.append((vname, int(self.next())))
            self.expect(";")
        self.expect("}")
        if not values or values[0][1] != 0:
            raise ProtoError(f"{self.path}: enum {name}: the first value must be 0")
        return Enum(name, f"{package}.{name}" if package else name, package, values)

    def parse_message(self, package, scope, parent):
        name = self.next()
        m = Message(name, f"{scope}.{name}" if scope else name, package, parent)
        self.expect("{")
        while self.peek() != "}":
            tok = self.next()
            if tok == "message":
                m.nested.append(self.parse_message(package, m.full, m))
                continue
            if tok in ("enum", "oneof", "extensions", "extend", "group"):
                raise ProtoError(f"{self.path}: {m.full}: {tok} is not supported")
            if tok == "reserved":
                while self.next() != ";":
                    pass
                continue
            label = ""
            key = None
            if tok in ("repeated", "optional"):
                label, tok = tok, self.next()
            if tok == "map":
                self.expect("<")
                key = self.next()
                self.expect(",")
                tok = self.next()
                self.expect(">")
                label = "map"
            fname = self.next()
            self.expect("=")
            number = int(self.next())
            if self.peek() == "[":
                raise ProtoError(f"{self.path}: {m.full}.{fname}: field options are not supported")
            self.expect(";")
            if not 1 <= number <= (1 << 29) - 1 or 19000 <= number <= 19999:
                raise ProtoError(f"{self.path}: {m.full}.{fname}: bad field number {number}")
            m.fields.append(Field(label, tok, fname, number, key))
        self.expect("}")
        if self.peek() == ";":
            self.next()
        numbers = [f.number for f in m.fields]
        if len(set(numbers)) != len(numbers):
            raise ProtoError(f"{self.path}: {m.full}: duplicate field number")
        return m


def load(names, include):
    files = {}

    def get(name):
        if name in files:
            return files[name]
        path = os.path.join(include, name)
        with open(path) as f:
            text = f.read()
        pf = ProtoFile(name)
        Parser(tokenize(text), path).parse_file(pf)
        files[name] = pf
        for imp in pf.imports:
            get(imp)
        return pf
    for n in names:
        get(n)
    # Resolve type names: innermost scope first, as protoc does.
    types = {}
    for pf in files.values():
        for m in pf.all_messages():
            types[m.full] = (m, pf)
        for e in pf.enums:
            types[e.full] = (e, pf)
    for pf in files.values():
        visible = {pf.name} | set(pf.imports)
        for m in pf.all_messages():
            for f in m.fields:
                if f.key is not None and f.key not in SCALARS or f.key in ("bytes", "bool"):
                    raise ProtoError(f"{pf.name}: {m.full}.{f.name}: unsupported map key {f.key}")
                if f.type in SCALARS:
                    f.resolved = ("scalar", f.type)
                    continue
                if f.type.startswith("."):
                    candidates = [f.type[1:]]
                else:
                    scope = m.full.split(".")
                    candidates = [".".join(scope[:k] + [f.type]) for k in range(len(scope), -1, -1)]
                for c in candidates:
                    c = c.strip(".")
                    if c in types and types[c][1].name in visible:
                        t = types[c][0]
                        f.resolved = ("enum" if isinstance(t, Enum) else "message", t)
                        break
                else:
                    raise ProtoError(f"{pf.name}: {m.full}.{f.name}: unknown type {f.type}")
                if f.label == "optional" and f.resolved[0] == "message":
                    f.label = ""  # a message field has presence anyway
    return files


def ns(package):
    return "::" + package.replace(".", "::") if package else ""


def qual(t):  # the C++ name of a message or enum, fully qualified
    return f"{ns(t.package)}::{t.cpp_name()}"


def cpp_type(f):
    kind, t = f.resolved
    if kind == "scalar":
        return SCALARS[t][0]
    return qual(t)


CPP_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char
char8_t char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast else enum
explicit export extern false float for friend goto if inline int long mutable namespace new
noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct
switch template this thread_local throw true try typedef typeid typename union unsigned using
virtual void volatile wchar_t while xor xor_eq""".split())


def acc(f):  # the accessor name: protoc appends "_" to C++ keywords (namespace_())
    return f.name + "_" if f.name in CPP_KEYWORDS else f.name


def member(f):
    return "f_" + f.name


def has_member(f):
    return "p_" + f.name


def order_messages(pf):
    """The file's messages in an order where a message follows the messages it holds by value
    (std::optional members need complete types); repeated fields use std::vector, which allows
    incomplete types, but ordering them too keeps it simple."""
    msgs = pf.all_messages()
    local = {m.full: m for m in msgs}
    done, out, busy = set(), [], set()

    def visit(m):
        if m.full in done:
            return
        if m.full in busy:
            raise ProtoError(f"{pf.name}: {m.full}: recursive messages are not supported")
        busy.add(m.full)
        for f in m.fields:
            if f.resolved[0] == "message" and f.resolved[1].full in local:
                visit(f.resolved[1])
        busy.discard(m.full)
        done.add(m.full)
        out.append(m)
    for m in msgs:
        visit(m)
    return out


def gen_header(pf):
    guard = "REAPER_GEN_" + re.sub(r"\W", "_", pf.name).upper()
    o = [f"// Generated by tools/protogen/protogen.py from proto/{pf.name}. Do not edit.",
         f"#ifndef {guard}", f"#define {guard}", "",
         "#include <cstdint>", "#include <map>", "#include <optional>", "#include <string>",
         "#include <string_view>", "#include <vector>", ""]
    for imp in pf.imports:
        o.append(f'#include "{imp[:-len(".proto")]}.pb.h"')
    o.append("")
    if pf.package:
        o.append(f"namespace {pf.package.replace('.', '::')} {{")
    o.append("")
    for e in pf.enums:
        o.append(f"enum {e.name} : int {{")
        for vn, vv in e.values:
            o.append(f"  {vn} = {vv},")
        o.append("};")
        o.append("")
    msgs = order_messages(pf)
    for m in msgs:
        o.append(f"class {m.cpp_name()};")
    o.append("")
    for m in msgs:
        c = m.cpp_name()
        o.append(f"class {c} {{")
        o.append(" public:")
        for n in m.nested:
            o.append(f"  using {n.name} = {n.cpp_name()};")
        o.append(f'  static constexpr std::string_view kTypeName = "{m.full}";')
        o.append(f"  std::string GetTypeName() const {{ return std::string(kTypeName); }}")
        o.append("  // Replaces the contents; false on malformed input (src/wire/wire.h).")
        o.append("  bool ParseFromString(std::string_view in) { Clear(); return MergeFromString(in); }")
        o.append("  bool ParseFromArray(const void* p, int n) {")
        o.append("    return n >= 0 && ParseFromString(std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)));")
        o.append("  }")
        o.append("  bool MergeFromString(std::string_view in);")
        o.append("  void AppendTo(std::string* out) const;")
        o.append("  std::string SerializeAsString() const { std::string s; AppendTo(&s); return s; }")
        o.append("  bool SerializeToString(std::string* out) const { out->clear(); AppendTo(out); return true; }")
        o.append("  size_t ByteSizeLong() const { return SerializeAsString().size(); }")
        clears = "".join(f" clear_{acc(f)}();" for f in sorted(m.fields, key=lambda f: f.number))
        o.append(f"  void Clear() {{{clears} }}")
        o.append(f"  bool operator==(const {c}&) const = default;")
        o.append("")
        for f in sorted(m.fields, key=lambda f: f.number):
            t = cpp_type(f)
            n, mem = acc(f), member(f)
            kind = f.resolved[0]
            if f.label == "map":
                kt = SCALARS[f.key][0]
                mt = f"std::map<{kt}, {t}>"
                o.append(f"  const {mt}& {n}() const {{ return {mem}; }}")
                o.append(f"  {mt}* mutable_{n}() {{ return &{mem}; }}")
                o.append(f"  int {n}_size() const {{ return static_cast<int>({mem}.size()); }}")
                o.append(f"  void clear_{n}() {{ {mem}.clear(); }}")
            elif f.label == "repeated":
                vt = f"std::vector<{t}>"
                o.append(f"  const {vt}& {n}() const {{ return {mem}; }}")
                o.append(f"  {vt}* mutable_{n}() {{ return &{mem}; }}")
                o.append(f"  int {n}_size() const {{ return static_cast<int>({mem}.size()); }}")
                o.append(f"  void clear_{n}() {{ {mem}.clear(); }}")
                ret = f"const {t}&" if kind == "message" or t == "std::string" else t  # vector<bool>
                o.append(f"  {ret} {n}(int i) const {{ return {mem}[static_cast<size_t>(i)]; }}")
                if kind == "message" or t == "std::string":
                    o.append(f"  {t}* mutable_{n}(int i) {{ return &{mem}[static_cast<size_t>(i)]; }}")
                    o.append(f"  // Valid until the next add_{n}().")
                    o.append(f"  {t}* add_{n}() {{ return &{mem}.emplace_back(); }}")
                if kind != "message":
                    arg = "std::string" if t == "std::string" else t
                    mv = "std::move(v)" if t == "std::string" else "v"
                    o.append(f"  void add_{n}({arg} v) {{ {mem}.push_back({mv}); }}")
                    o.append(f"  void set_{n}(int i, {arg} v) {{ {mem}[static_cast<size_t>(i)] = {mv}; }}")
            elif kind == "message":
                o.append(f"  bool has_{n}() const {{ return {mem}.has_value(); }}")
                o.append(f"  const {t}& {n}() const;")
                o.append(f"  {t}* mutable_{n}() {{ return {mem} ? &*{mem} : &{mem}.emplace(); }}")
                o.append(f"  void clear_{n}() {{ {mem}.reset(); }}")
            else:
                if t == "std::string":
                    o.append(f"  const std::string& {n}() const {{ return {mem}; }}")
                    o.append(f"  std::string* mutable_{n}() {{ {presence_set(f)}return &{mem}; }}")
                    o.append(f"  void set_{n}(std::string v) {{ {presence_set(f)}{mem} = std::move(v); }}")
                    o.append(f"  void set_{n}(const char* p, size_t n) {{ {presence_set(f)}{mem}.assign(p, n); }}")
                    o.append(f"  void clear_{n}() {{ {presence_clear(f)}{mem}.clear(); }}")
                else:
                    o.append(f"  {t} {n}() const {{ return {mem}; }}")
                    o.append(f"  void set_{n}({t} v) {{ {presence_set(f)}{mem} = v; }}")
                    o.append(f"  void clear_{n}() {{ {presence_clear(f)}{mem} = {default(f)}; }}")
                if f.label == "optional":
                    o.append(f"  bool has_{n}() const {{ return {has_member(f)}; }}")
        o.append("")
        o.append(" private:")
        for f in sorted(m.fields, key=lambda f: f.number):
            t = cpp_type(f)
            kind = f.resolved[0]
            if f.label == "map":
                o.append(f"  std::map<{SCALARS[f.key][0]}, {t}> {member(f)};")
            elif f.label == "repeated":
                o.append(f"  std::vector<{t}> {member(f)};")
            elif kind == "message":
                o.append(f"  std::optional<{t}> {member(f)};")
            elif t == "std::string":
                o.append(f"  std::string {member(f)};")
            else:
                o.append(f"  {t} {member(f)} = {default(f)};")
            if f.label == "optional":
                o.append(f"  bool {has_member(f)} = false;")
        o.append("};")
        o.append("")
    if pf.package:
        o.append(f"}}  // namespace {pf.package.replace('.', '::')}")
    o.append(f"#endif  // {guard}")
    return "\n".join(o) + "\n"


def presence_set(f):
    return f"{has_member(f)} = true; " if f.label == "optional" else ""


def presence_clear(f):
    return f"{has_member(f)} = false; " if f.label == "optional" else ""


def default(f):
    kind, t = f.resolved
    if kind == "enum":
        return f"static_cast<{qual(t)}>(0)"
    return SCALARS[t][1]


def wire_kind(f):
    kind, t = f.resolved
    if kind == "enum":
        return "varint"
    if kind == "message":
        return "message"
    return SCALARS[t][2]


def to_u64(f, expr):
    """The 64-bit varint value protoc writes for a value of field f."""
    kind, t = f.resolved
    if kind == "enum" or t in ("int32", "int64"):
        return f"static_cast<uint64_t>(static_cast<int64_t>({expr}))"
    if t == "bool":
        return f"uint64_t{{{expr} ? 1u : 0u}}"
    return f"uint64_t{{{expr}}}"


def from_u64(f, expr):
    kind, t = f.resolved
    if kind == "enum":
        return f"static_cast<{qual(t)}>(static_cast<int32_t>({expr}))"
    if t == "bool":
        return f"({expr} != 0)"
    return f"static_cast<{SCALARS[t][0]}>({expr})"


def gen_source(pf):
    o = [f"// Generated by tools/protogen/protogen.py from proto/{pf.name}. Do not edit.",
         f'#include "{pf.name[:-len(".proto")]}.pb.h"', "", '#include "wire/wire.h"', "",
         "namespace w = ::reaper::wire;", ""]
    if pf.package:
        o.append(f"namespace {pf.package.replace('.', '::')} {{")
    o.append("")
    for m in order_messages(pf):
        c = m.cpp_name()
        fields = sorted(m.fields, key=lambda f: f.number)
        for f in fields:
            if f.resolved[0] == "message" and f.label == "":
                t = cpp_type(f)
                o.append(f"const {t}& {c}::{acc(f)}() const {{")
                o.append(f"  static const {t} kDefault;")
                o.append(f"  return {member(f)} ? *{member(f)} : kDefault;")
                o.append("}")
                o.append("")
        # Serialize, in field-number order like protoc; proto3 defaults are not written.
        o.append(f"void {c}::AppendTo(std::string* out) const {{")
        for f in fields:
            mem, wk, num = member(f), wire_kind(f), f.number
            if f.label == "map":
                o.append(f"  for (const auto& [k, v] : {mem}) {{")
                o.append("    std::string e;")
                o.append(f"    {put_plain(f, 1, 'k', True, 'e')}")
                o.append(f"    {put_plain(f, 2, 'v', False, 'e')}")
                o.append(f"    w::PutLenField(out, {num}, e);")
                o.append("  }")
            elif f.label == "repeated":
                if wk in ("varint", "bool"):
                    o.append(f"  if (!{mem}.empty()) {{")
                    o.append("    std::string p;")
                    o.append(f"    for (auto v : {mem}) w::PutVarint(&p, {to_u64(f, 'v')});")
                    o.append(f"    w::PutLenField(out, {num}, p);")
                    o.append("  }")
                elif wk == "message":
                    o.append(f"  for (const auto& v : {mem}) {{")
                    o.append("    std::string s;")
                    o.append("    v.AppendTo(&s);")
                    o.append(f"    w::PutLenField(out, {num}, s);")
                    o.append("  }")
                else:
                    o.append(f"  for (const auto& v : {mem}) w::PutLenField(out, {num}, v);")
            elif wk == "message":
                o.append(f"  if ({mem}) {{")
                o.append("    std::string s;")
                o.append(f"    {mem}->AppendTo(&s);")
                o.append(f"    w::PutLenField(out, {num}, s);")
                o.append("  }")
            else:
                cond = f"{has_member(f)}" if f.label == "optional" else (f"!{mem}.empty()" if wk in ("string", "bytes") else f"{mem} != {default(f)}")
                o.append(f"  if ({cond}) {put_plain(f, num, mem, False, 'out', ptr=True)}")
        o.append("}")
        o.append("")
        # Parse (merging, like protobuf's MergeFromString).
        o.append(f"bool {c}::MergeFromString(std::string_view in) {{")
        o.append("  w::Reader r(in);")
        o.append("  while (!r.done()) {")
        o.append("    uint32_t f;")
        o.append("    w::WireType t;")
        o.append("    if (!r.ReadTag(&f, &t)) return false;")
        if fields:
            o.append("    switch (f) {")
            for f in fields:
                o.extend("      " + line for line in parse_case(f))
            o.append("      default: break;")
            o.append("    }")
        o.append("    if (!r.Skip(f, t)) return false;")
        o.append("  }")
        o.append("  return true;")
        o.append("}")
        o.append("")
    if pf.package:
        o.append(f"}}  // namespace {pf.package.replace('.', '::')}")
    return "\n".join(o) + "\n"


def put_plain(f, num, expr, is_key, out, ptr=False):
    """Writes one non-repeated value (map entries always write key and value, like protoc)."""
    target = out if ptr else "&" + out
    if is_key:
        t = f.key
        if t == "string":
            return f"w::PutLenField({target}, {num}, {expr});"
        return f"w::PutVarintField({target}, {num}, {to_u64_scalar(t, expr)});"
    wk = wire_kind(f)
    if wk in ("string", "bytes"):
        return f"w::PutLenField({target}, {num}, {expr});"
    if wk == "message":
        return f"{{ std::string s; {expr}.AppendTo(&s); w::PutLenField({target}, {num}, s); }}"
    return f"w::PutVarintField({target}, {num}, {to_u64(f, expr)});"


def to_u64_scalar(t, expr):
    if t in ("int32", "int64"):
        return f"static_cast<uint64_t>(static_cast<int64_t>({expr}))"
    return f"uint64_t{{{expr}}}"


def parse_case(f):
    mem, wk, num = member(f), wire_kind(f), f.number
    utf8 = "true" if wk == "string" else "false"
    L = [f"case {num}:"]
    if f.label == "map":
        kt = SCALARS[f.key][0]
        vt = cpp_type(f)
        L += ["  if (t == w::kLen) {",
              "    std::string_view e;",
              "    if (!r.ReadLen(&e)) return false;",
              f"    {kt} k{{}};",
              f"    {vt} v{{}};",
              "    w::Reader er(e);",
              "    while (!er.done()) {",
              "      uint32_t ef;",
              "      w::WireType et;",
              "      if (!er.ReadTag(&ef, &et)) return false;"]
        if f.key == "string":
            L += ["      if (ef == 1 && et == w::kLen) { if (!er.ReadString(&k, true)) return false; continue; }"]
        else:
            L += [f"      if (ef == 1 && et == w::kVarint) {{ uint64_t x; if (!er.ReadVarint(&x)) return false; k = static_cast<{kt}>(x); continue; }}"]
        if wk in ("string", "bytes"):
            L += [f"      if (ef == 2 && et == w::kLen) {{ if (!er.ReadString(&v, {utf8})) return false; continue; }}"]
        elif wk == "message":
            L += ["      if (ef == 2 && et == w::kLen) { std::string_view s; if (!er.ReadLen(&s) || !v.MergeFromString(s)) return false; continue; }"]
        else:
            L += [f"      if (ef == 2 && et == w::kVarint) {{ uint64_t x; if (!er.ReadVarint(&x)) return false; v = {from_u64(f, 'x')}; continue; }}"]
        L += ["      if (!er.Skip(ef, et)) return false;",
              "    }",
              f"    {mem}[std::move(k)] = std::move(v);",
              "    continue;",
              "  }",
              "  break;"]
        return L
    if f.label == "repeated":
        if wk in ("varint", "bool"):
            L += ["  if (t == w::kVarint) {",
                  "    uint64_t x;",
                  "    if (!r.ReadVarint(&x)) return false;",
                  f"    {mem}.push_back({from_u64(f, 'x')});",
                  "    continue;",
                  "  }",
                  "  if (t == w::kLen) {",
                  "    std::string_view p;",
                  f"    if (!r.ReadLen(&p) || !w::ReadPackedVarints(p, [this](uint64_t x) {{ {mem}.push_back({from_u64(f, 'x')}); }})) return false;",
                  "    continue;",
                  "  }",
                  "  break;"]
        elif wk == "message":
            L += ["  if (t == w::kLen) {",
                  "    std::string_view s;",
                  f"    if (!r.ReadLen(&s) || !{mem}.emplace_back().MergeFromString(s)) return false;",
                  "    continue;",
                  "  }",
                  "  break;"]
        else:
            L += [f"  if (t == w::kLen) {{ if (!r.ReadString(&{mem}.emplace_back(), {utf8})) return false; continue; }}",
                  "  break;"]
        return L
    if wk == "message":
        L += ["  if (t == w::kLen) {",
              "    std::string_view s;",
              f"    if (!r.ReadLen(&s) || !mutable_{acc(f)}()->MergeFromString(s)) return false;",
              "    continue;",
              "  }",
              "  break;"]
    elif wk in ("string", "bytes"):
        L += [f"  if (t == w::kLen) {{ if (!r.ReadString(&{mem}, {utf8})) return false; {presence_set(f)}continue; }}",
              "  break;"]
    else:
        L += ["  if (t == w::kVarint) {",
              "    uint64_t x;",
              "    if (!r.ReadVarint(&x)) return false;",
              f"    {presence_set(f)}{mem} = {from_u64(f, 'x')};",
              "    continue;",
              "  }",
              "  break;"]
    return L


def gen_proto(pf, prefix):
    """The schema again, under package PREFIX.<package>, imports renamed PREFIX_<name>."""
    o = ['syntax = "proto3";']
    pkg = f"{prefix}.{pf.package}" if pf.package else prefix
    o.append(f"package {pkg};")
    o.append("option optimize_for = LITE_RUNTIME;")
    for imp in pf.imports:
        o.append(f'import "{prefix}_{imp}";')
    for e in pf.enums:
        o.append(f"enum {e.name} {{ " + " ".join(f"{n} = {v};" for n, v in e.values) + " }")

    def msg(m, indent):
        o.append(f"{indent}message {m.name} {{")
        for n in m.nested:
            msg(n, indent + "  ")
        for f in m.fields:
            kind, t = f.resolved
            tn = t if kind == "scalar" else f".{prefix}.{t.full}"
            if f.label == "map":
                o.append(f"{indent}  map<{f.key}, {tn}> {f.name} = {f.number};")
            else:
                lab = f.label + " " if f.label else ""
                o.append(f"{indent}  {lab}{tn} {f.name} = {f.number};")
        o.append(f"{indent}}}")
    for m in pf.messages:
        msg(m, "")
    return "\n".join(o) + "\n"


def fill_name(m):
    return "Fill_" + m.full.replace(".", "_")


def fill_element(f, n, kind, t):
    """One statement that sets entry i of a map or repeated field (see gen_fill)."""
    num = f.number
    if f.label == "map":
        if f.key == "string":
            key = f'"k{num}_" + std::to_string(i)'
        else:
            key = f"static_cast<std::remove_cvref_t<decltype(m->{n}().begin()->first)>>(i * 7 - 3)"
        slot = f"(*m->mutable_{n}())[{key}]"
        if kind == "message":
            return f"{fill_name(t)}(&{slot}, v, depth + 1);"
        if t in ("string", "bytes"):
            return f'{slot} = i == 1 ? std::string() : "v{num}_" + std::to_string(i);'
        return f"{slot} = static_cast<std::remove_cvref_t<decltype(m->{n}().begin()->second)>>(i);"
    if kind == "message":
        return f"{fill_name(t)}(m->add_{n}(), i == 1 ? 0 : v, depth + 1);"
    if t in ("string", "bytes"):
        return f'm->add_{n}(i == 1 ? std::string() : "r{num}_" + std::to_string(i));'
    return (f"{{ using T = std::remove_cvref_t<decltype(m->{n}(0))>; m->add_{n}(v == 1 ? static_cast<T>(i + {num}) : "
            f"(i == 0 ? static_cast<T>(0) : (i == 1 ? std::numeric_limits<T>::max() : std::numeric_limits<T>::min()))); }}")


def gen_fill(files, names, prefix):
    """Test-only: one template per message that sets every field through the accessor API
    shared by our classes and protoc's, so one function fills both (tests/unit/codec_test.cc).
    Variant 0 sets nothing; 1 ordinary values; 2 extremes (minimum negatives, maximum
    unsigned, present-but-empty strings and messages, several map entries)."""
    msgs = []
    for n in names:
        msgs.extend(files[n].all_messages())
    o = ["// Generated by tools/protogen/protogen.py --fill (test-only). Do not edit.", "#pragma once",
         "#include <cstdint>", "#include <limits>", "#include <string>", "#include <type_traits>", ""]
    for m in msgs:
        o.append(f"template <class M> void {fill_name(m)}(M* m, int v, int depth);")
    o.append("")
    for m in msgs:
        o.append(f"template <class M> void {fill_name(m)}(M* m, int v, int depth) {{")
        o.append("  if (v == 0 || depth > 4) return;")
        for f in sorted(m.fields, key=lambda f: f.number):
            n, kind, t = acc(f), f.resolved[0], f.resolved[1]
            num = f.number
            if f.label in ("map", "repeated"):
                count = "(v == 1 ? 1 : 3)" if f.label == "map" else "(v == 1 ? 2 : 3)"
                o.append(f"  for (int i = 0; i < {count}; ++i) {{")
                o.append("    " + fill_element(f, n, kind, t))
                o.append("  }")
                continue
            if kind == "message":
                o.append(f"  {fill_name(t)}(m->mutable_{n}(), v == 2 ? 0 : v, depth + 1);")
            elif kind == "enum":
                o.append(f"  m->set_{n}(static_cast<std::remove_cvref_t<decltype(m->{n}())>>(v == 1 ? 2 : -5));")
            elif t in ("string", "bytes"):
                o.append(f'  m->set_{n}(v == 1 ? std::string("s{num}") : std::string());')
            elif t == "bool":
                o.append(f"  m->set_{n}(true);")
            else:
                ct = SCALARS[t][0]
                ext = f"std::numeric_limits<{ct}>::min()" if t.startswith("int") else f"std::numeric_limits<{ct}>::max()"
                o.append(f"  m->set_{n}(v == 1 ? static_cast<{ct}>({'-' if t.startswith('int') else ''}{num}) : {ext});")
        o.append("}")
        o.append("")
    o.append("#define REAPER_CODEC_CASES(X) \\")
    for m in msgs:
        o.append(f"  X({qual(m)}, ::{prefix}{qual(m)}, {fill_name(m)}) \\")
    o.append("")
    return "\n".join(o) + "\n"


def write_file(path, text):
    """Leaves an unchanged file alone, so that the build recompiles nothing for it."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-I", dest="include", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--cpp", metavar="OUTDIR")
    g.add_argument("--proto", metavar="OUTDIR")
    g.add_argument("--fill", metavar="OUTFILE")
    ap.add_argument("--prefix", default="reaperref")
    ap.add_argument("protos", nargs="+")
    a = ap.parse_args()
    try:
        files = load(a.protos, a.include)
        if a.fill:
            write_file(a.fill, gen_fill(files, a.protos, a.prefix))
            return 0
        for name in a.protos:
            pf = files[name]
            base = name[:-len(".proto")]
            if a.cpp:
                os.makedirs(a.cpp, exist_ok=True)
                write_file(os.path.join(a.cpp, base + ".pb.h"), gen_header(pf))
                write_file(os.path.join(a.cpp, base + ".pb.cc"), gen_source(pf))
            else:
                os.makedirs(a.proto, exist_ok=True)
                write_file(os.path.join(a.proto, f"{a.prefix}_{name}"), gen_proto(pf, a.prefix))
    except (ProtoError, OSError, ValueError) as e:
        print(f"protogen: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
