// Command-line parsing for reaperctl: options may appear anywhere before `--`, short flags
// combine (`-it`), values are given as `--opt value`, `--opt=value` or `-f value`.
// Pure code (unit-tested).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace reaperctl {

struct OptionSpec {
  std::string long_name;   // without the leading "--"
  char short_name = 0;     // 0: none
  bool takes_value = false;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;  // long name -> values (flags: "")
  std::vector<std::string> positional;                     // before "--"
  std::vector<std::string> after_dashdash;                 // after "--"
  bool saw_dashdash = false;

  bool Has(const std::string& name) const { return values.count(name) != 0; }
  // Last value of an option, if given.
  std::optional<std::string> Get(const std::string& name) const;
};

// Throws UsageError naming an unknown option or a missing value.
ParsedArgs ParseArgs(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs);

// Parses a non-negative integer option value; throws UsageError("--name: ...").
long ParseSeconds(const std::string& name, const std::string& value);

}  // namespace reaperctl
