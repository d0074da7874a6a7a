#include "rlforge/core/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace rlforge::config {

std::string Range::ToString() const {
  if (std::isinf(lo) && std::isinf(hi)) return "";
  auto num = [](double v) {
    return std::isinf(v) ? (v > 0 ? std::string("inf") : std::string("-inf"))
                         : FormatNumber(v, DType::kFloat64);
  };
  return std::string(lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

Reader::Reader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    throw Error((path_.empty() ? std::string("config") : path_) + ": expected a mapping of keys");
  }
  // yaml-cpp keeps duplicate keys (and lookups find the first): refuse them
  if (!node_ || !node_.IsMap()) return;
  std::set<std::string> keys;
  for (const auto& kv : node_) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!keys.insert(key).second)
      throw Error("duplicate key '" + Where(key.c_str()) + "' (each key may appear once)");
  }
}

std::optional<YAML::Node> Reader::Take(const char* key) {
  seen_.insert(key);
  if (!node_ || !node_.IsMap()) return std::nullopt;
  const YAML::Node& map = node_;
  const YAML::Node n = map[key];
  if (!n || n.IsNull()) return std::nullopt;
  return n;
}

namespace {

std::string Text(const YAML::Node& n) {
  if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
  YAML::Emitter out;
  out << YAML::Flow << n;
  return out.c_str();
}

}  // namespace

template <typename T>
T Reader::Parse(const YAML::Node& n, const std::string& where, const Range& range) const {
  if constexpr (std::is_same_v<T, bool>) {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
    throw Error(where + ": expected true or false, got " + Text(n));
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (!n.IsSequence())
      throw Error(where + ": expected a list of integers like [64, 64], got " + Text(n));
    std::vector<int64_t> out;
    for (size_t i = 0; i < n.size(); ++i) {
      out.push_back(Parse<int64_t>(n[i], where + "[" + std::to_string(i) + "]", Range::Positive()));
    }
    return out;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!n.IsSequence())
      throw Error(where + ": expected a list of names like [a, b], got " + Text(n));
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i)
      out.push_back(Parse<std::string>(n[i], where + "[" + std::to_string(i) + "]", Range::Any()));
    return out;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!n.IsScalar()) throw Error(where + ": expected a string, got " + Text(n));
    return n.Scalar();
  } else {
    static_assert(std::is_arithmetic_v<T>);
    const std::string kind = std::is_integral_v<T> ? "an integer" : "a number";
    const std::string allowed = range.ToString().empty() ? "" : " in " + range.ToString();
    if (!n.IsScalar()) throw Error(where + ": expected " + kind + allowed + ", got " + Text(n));
    const std::string s = n.Scalar();
    if constexpr (std::is_integral_v<T>) {
      // an integer literal exactly; else a number that is a whole one, e.g. 1e5
      int64_t i = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      const bool literal = ec == std::errc() && end == s.data() + s.size();
      if (!literal) {
        std::istringstream in(s);
        double v = 0.0;
        in >> v;
        if (in.fail() || !in.eof() || !std::isfinite(v) || v != std::floor(v))
          throw Error(where + ": expected " + kind + allowed + ", got " + Text(n));
        if (std::abs(v) >= 9007199254740992.0)  // 2^53: beyond it a double is no exact integer
          throw Error(where + ": " + s + " is too large for an integer (at most " +
                      std::to_string(std::numeric_limits<T>::max()) + ")");
        i = static_cast<int64_t>(v);
      }
      if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max())
        throw Error(where + ": " + s + " is out of range for an integer (at most " +
                    std::to_string(std::numeric_limits<T>::max()) + ")");
      if (!range.Contains(static_cast<double>(i)))
        throw Error(where + ": expected " + kind + allowed + ", got " + s);
      return static_cast<T>(i);
    } else {
      std::istringstream in(s);
      double v = 0.0;
      in >> v;
      if (in.fail() || !in.eof() || !std::isfinite(v)) {
        throw Error(where + ": expected " + kind + allowed + ", got " + Text(n));
      }
      if (!range.Contains(v)) throw Error(where + ": expected " + kind + allowed + ", got " + s);
      return static_cast<T>(v);
    }
  }
}

template bool Reader::Parse<bool>(const YAML::Node&, const std::string&, const Range&) const;
template int Reader::Parse<int>(const YAML::Node&, const std::string&, const Range&) const;
template int64_t Reader::Parse<int64_t>(const YAML::Node&, const std::string&, const Range&) const;
template double Reader::Parse<double>(const YAML::Node&, const std::string&, const Range&) const;
template float Reader::Parse<float>(const YAML::Node&, const std::string&, const Range&) const;
template std::vector<int64_t> Reader::Parse<std::vector<int64_t>>(const YAML::Node&,
                                                                  const std::string&,
                                                                  const Range&) const;
template std::vector<std::string> Reader::Parse<std::vector<std::string>>(const YAML::Node&,
                                                                          const std::string&,
                                                                          const Range&) const;
template std::string Reader::Parse<std::string>(const YAML::Node&, const std::string&,
                                                const Range&) const;

void Reader::operator()(const char* key, std::string& value, const char*, const Choices& choices) {
  const std::optional<YAML::Node> n = Take(key);
  if (!n) return;
  const std::string v = Parse<std::string>(*n, Where(key), Range::Any());
  if (!choices.options.empty() &&
      std::find(choices.options.begin(), choices.options.end(), v) == choices.options.end()) {
    std::string list;
    for (const auto& o : choices.options) list += (list.empty() ? "" : ", ") + o;
    throw Error(Where(key) + ": expected one of " + list + ", got \"" + v + "\"");
  }
  value = v;
}

void Reader::operator()(const char* key, std::map<std::string, std::string>& value, const char*) {
  const std::optional<YAML::Node> n = Take(key);
  if (!n) return;
  if (!n->IsMap()) throw Error(Where(key) + ": expected a mapping of key: value");
  value.clear();
  for (const auto& kv : *n) {
    const std::string where = Where(key) + "." + kv.first.Scalar();
    if (kv.second.IsSequence()) {  // a tuple such as healthy_z_range: [0.7, .inf]
      std::string text = "[";
      for (const auto& item : kv.second) {
        if (!item.IsScalar()) throw Error(where + ": expected a list of numbers");
        std::string word = item.Scalar();
        if (word == ".inf" || word == ".Inf") word = "inf";
        if (word == "-.inf" || word == "-.Inf") word = "-inf";
        text += (text.size() > 1 ? ", " : "") + word;
      }
      value[kv.first.Scalar()] = text + "]";
    } else if (kv.second.IsScalar()) {
      value[kv.first.Scalar()] = kv.second.Scalar();
    } else {
      throw Error(where + ": expected a single value or a list of numbers");
    }
  }
}

void Reader::Finish() const {
  if (!node_ || !node_.IsMap()) return;
  std::vector<std::string> known(seen_.begin(), seen_.end());
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (seen_.count(key)) continue;
    std::string message = "unknown key '" + Where(key.c_str()) + "'";
    const auto close = ClosestNames(key, known, 1);
    if (!close.empty()) message += "; did you mean '" + Where(close[0].c_str()) + "'?";
    throw Error(message);
  }
}

std::string YamlNumber(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string s = FormatNumber(v, DType::kFloat64);
  const size_t e = s.find('e');
  if (e != std::string::npos && s.find('.') == std::string::npos) s.insert(e, ".0");
  return s;
}

void Writer::operator()(const char* key, const std::map<std::string, std::string>& value,
                        const char*) {
  out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : value) out_ << YAML::Key << k << YAML::Value << v;
  out_ << YAML::EndMap;
}

void Describer::operator()(const char* key, const std::string& value, const char* description,
                           const Choices& choices) {
  std::string allowed;
  for (const auto& o : choices.options) allowed += (allowed.empty() ? "" : "|") + o;
  lines.push_back({Where(key), "\"" + value + "\"", allowed, description});
}

void Describer::operator()(const char* key, const std::map<std::string, std::string>& value,
                           const char* description) {
  std::string text = "{";
  for (const auto& [k, v] : value) text += (text.size() > 1 ? ", " : "") + k + ": " + v;
  lines.push_back({Where(key), text + "}", "", description});
}

void ApplyOverride(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw Error("--set " + assignment + ": expected key.path=value");
  }
  const std::string path = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error("--set " + assignment + ": cannot parse the value: " + e.msg);
  }
  std::vector<std::string> keys;
  std::stringstream ss(path);
  for (std::string k; std::getline(ss, k, '.');) {
    if (k.empty()) throw Error("--set " + assignment + ": empty key in the path");
    keys.push_back(k);
  }
  // walk with fresh handles (yaml-cpp's operator[] re-binds on assignment)
  std::vector<YAML::Node> chain = {root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (next && !next.IsMap() && !next.IsNull()) {
      throw Error("--set " + assignment + ": '" + keys[i] + "' is not a section");
    }
    if (!next || next.IsNull()) {
      chain.back()[keys[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[keys[i]];
    }
    chain.push_back(next);
  }
  chain.back()[keys.back()] = value;
}

YAML::Node LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open config file");
  try {
    YAML::Node n = YAML::Load(in);
    if (n.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) throw Error(path + ": expected a mapping of keys at the top level");
    return n;
  } catch (const YAML::ParserException& e) {
    throw Error(path + ": YAML syntax error at line " + std::to_string(e.mark.line + 1) + ": " +
                e.msg);
  }
}

}  // namespace rlforge::config
