#include "cli_args.h"

#include <cerrno>
#include <cstdlib>

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

long ParseSeconds(const std::string& name, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || errno != 0 || *end != '\0' || v < 0 || v > 100000000)
    throw UsageError("--" + name + ": expected a non-negative number of seconds, got \"" + value +
                     "\"");
  return v;
}

}  // namespace reaperctl
