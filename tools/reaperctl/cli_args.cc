#include "cli_args.h"

#include <charconv>
#include <climits>
#include <cstdint>

#include "errors.h"

namespace reaperctl {

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

ParsedArgs ParseArgs(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs) {
  ParsedArgs out;
  auto find_long = [&](const std::string& n) -> const OptionSpec* {
    for (const auto& s : specs)
      if (s.long_name == n) return &s;
    return nullptr;
  };
  auto find_short = [&](char c) -> const OptionSpec* {
    for (const auto& s : specs)
      if (s.short_name == c) return &s;
    return nullptr;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (out.saw_dashdash) {
      out.after_dashdash.push_back(a);
      continue;
    }
    if (a == "--") {
      out.saw_dashdash = true;
      continue;
    }
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2), value;
      bool has_inline = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      const OptionSpec* s = find_long(name);
      if (!s) throw UsageError("unknown option --" + name);
      if (s->takes_value) {
        if (!has_inline) {
          if (i + 1 >= args.size()) throw UsageError("option --" + name + " needs a value");
          value = args[++i];
        }
        out.values[name].push_back(value);
      } else {
        if (has_inline) throw UsageError("option --" + name + " takes no value");
        out.values[name].push_back("");
      }
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      for (size_t j = 1; j < a.size(); ++j) {
        const OptionSpec* s = find_short(a[j]);
        if (!s) throw UsageError(std::string("unknown option -") + a[j]);
        if (s->takes_value) {
          std::string value;
          if (j + 1 < a.size()) {
            value = a.substr(j + 1);
          } else {
            if (i + 1 >= args.size())
              throw UsageError(std::string("option -") + a[j] + " needs a value");
            value = args[++i];
          }
          out.values[s->long_name].push_back(value);
          break;
        }
        out.values[s->long_name].push_back("");
      }
      continue;
    }
    out.positional.push_back(a);
  }
  return out;
}

std::optional<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max) {
  // std::from_chars takes no '+' and no leading space; it must consume the whole text.
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v, 10);
  if (text.empty() || ec != std::errc() || ptr != end || v < min || v > max) return std::nullopt;
  return v;
}

int64_t ParseIntOption(const std::string& name, const std::string& value, int64_t min,
                       int64_t max, const std::string& what) {
  if (auto v = ParseInteger(value, min, max)) return *v;
  throw UsageError("--" + name + ": expected an integer from " + std::to_string(min) + " to " +
                   std::to_string(max) + (what.empty() ? "" : " (" + what + ")") + ", got \"" +
                   value + "\"");
}

int64_t ParseSeconds(const std::string& name, const std::string& value) {
  return ParseIntOption(name, value, 0, 100000000, "seconds");
}

int64_t ParseBytes(const std::string& name, const std::string& value) {
  auto bad = [&](const std::string& why) {
    return UsageError("--" + name + ": expected a size in bytes (e.g. 67108864, 64Mi, 1G), got \"" +
                      value + "\"" + (why.empty() ? "" : ": " + why));
  };
  size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  if (digits == 0) throw bad("");
  const std::string_view suffix = std::string_view(value).substr(digits);
  struct Unit {
    std::string_view name;
    int64_t base;
    int power;
  };
  static constexpr Unit kUnits[] = {{"", 1, 0},      {"k", 1000, 1}, {"M", 1000, 2},
                                    {"G", 1000, 3},  {"T", 1000, 4}, {"P", 1000, 5},
                                    {"E", 1000, 6},  {"Ki", 1024, 1}, {"Mi", 1024, 2},
                                    {"Gi", 1024, 3}, {"Ti", 1024, 4}, {"Pi", 1024, 5},
                                    {"Ei", 1024, 6}};
  const Unit* unit = nullptr;
  for (const auto& u : kUnits)
    if (u.name == suffix) unit = &u;
  if (!unit) throw bad("unknown suffix \"" + std::string(suffix) + "\"");
  auto n = ParseInteger(std::string_view(value).substr(0, digits), 0, INT64_MAX);
  if (!n) throw bad("too large");
  int64_t v = *n;
  for (int i = 0; i < unit->power; ++i) {
    if (v > INT64_MAX / unit->base) throw bad("too large");
    v *= unit->base;
  }
  if (v < 1) throw bad("must be at least 1 byte");
  return v;
}

}  // namespace reaperctl
