// Command-line parsing for reaperctl: options may appear anywhere before `--`, short flags
// combine (`-it`), values are given as `--opt value`, `--opt=value` or `-f value`.
// Pure code (unit-tested).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// Numbers on the command line and in reaperctl's own annotations are parsed as whole strings:
// decimal digits with an optional leading '-' only; no spaces, no '+', no suffix, no
// overflow. "3abc", " 3", "+3", "3.0" and "" are errors, never 3.

// Pure: the value if `text` is exactly a decimal integer in [min, max].
std::optional<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max);

// An integer option value in [min, max]; throws UsageError naming the option:
//   --tail: expected an integer from -1 to 100000000 (lines; -1: all), got "3abc"
// `what` describes the value ("lines; -1: all").
int64_t ParseIntOption(const std::string& name, const std::string& value, int64_t min,
                       int64_t max, const std::string& what);

// A number of seconds, 0 to 100000000; throws UsageError("--name: ...").
int64_t ParseSeconds(const std::string& name, const std::string& value);

// A size in bytes, at least 1: digits with an optional Kubernetes quantity suffix, binary
// (Ki Mi Gi Ti Pi Ei) or decimal (k M G T P E), e.g. 67108864, 64Mi, 1G. Throws UsageError
// naming the option on anything else or on overflow.
int64_t ParseBytes(const std::string& name, const std::string& value);

}  // namespace reaperctl
