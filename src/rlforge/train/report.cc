#include "rlforge/train/report.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rlforge/algos/registry.h"
#include "rlforge/core/error.h"
#include "rlforge/core/rng.h"
#include "rlforge/env/registry.h"
#include "rlforge/io/metrics.h"
#include "rlforge/train/callbacks.h"

namespace rlforge::train {

std::string_view PlotlyJs();  // plotly_js.cc
const char* PlotlyVersion();

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Series = std::vector<std::pair<int64_t, double>>;

// plotly_dark's colours (plotly.py's template, which plotly.js does not ship)
constexpr const char* kBackground = "rgb(17,17,17)";
constexpr const char* kText = "#f2f5fa";
constexpr const char* kGrid = "#283442";
constexpr const char* kColors[] = {"#636efa", "#EF553B", "#00cc96", "#ab63fa",
                                   "#19d3f3", "#e763fa", "#FFA15A", "#B6E880"};
constexpr size_t kMaxPoints = 2000;  // per trace: longer series are thinned

std::string Color(size_t i) { return kColors[i % std::size(kColors)]; }

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Html(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON safe inside <script>: no '<' or '>' (plotly.py does the same); NaN is null already
std::string ScriptJson(const json& j) {
  std::string out;
  for (const char c : j.dump()) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else
      out += c;
  }
  return out;
}

// TensorBoard's smoothing: a debiased exponential moving average (weight 0.6), non-finite
// values skipped, so both tools draw the same curve
std::vector<double> Smooth(const std::vector<double>& y, double weight = 0.6) {
  std::vector<double> out(y.size(), NAN);
  double last = 0.0;
  int n = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) continue;
    last = last * weight + (1 - weight) * y[i];
    ++n;
    out[i] = last / (1 - std::pow(weight, n));
  }
  return out;
}

// every k-th point so that at most kMaxPoints remain (the last one kept)
template <class T>
std::vector<T> Thin(const std::vector<T>& v) {
  if (v.size() <= kMaxPoints) return v;
  const size_t k = (v.size() + kMaxPoints - 1) / kMaxPoints;
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); i += k) out.push_back(v[i]);
  if ((v.size() - 1) % k != 0) out.push_back(v.back());
  return out;
}

std::pair<std::vector<double>, std::vector<double>> Columns(const Series& s) {
  std::vector<double> x, y;
  for (const auto& [step, value] : s) x.push_back(static_cast<double>(step)), y.push_back(value);
  return {x, y};
}

// ---- figures ---------------------------------------------------------------------------------

struct Figure {
  json data = json::array();
  json layout;
};

json Axis(const std::string& title, bool log = false) {
  json a = {{"title", {{"text", title}}},
            {"gridcolor", kGrid},
            {"zerolinecolor", kGrid},
            {"linecolor", "#506784"}};
  if (log) a["type"] = "log";
  return a;
}

Figure MakeFigure(const std::string& title, const std::string& x, const std::string& y,
                  bool log_y = false) {
  Figure f;
  f.layout = {{"title", {{"text", title}, {"font", {{"size", 15}}}}},
              {"paper_bgcolor", kBackground},
              {"plot_bgcolor", kBackground},
              {"font", {{"color", kText}}},
              {"xaxis", Axis(x)},
              {"yaxis", Axis(y, log_y)},
              {"height", 330},
              {"margin", {{"l", 60}, {"r", 20}, {"t", 40}, {"b", 45}}},
              {"legend", {{"bgcolor", "rgba(0,0,0,0.5)"}, {"font", {{"size", 10}}}}}};
  return f;
}

json Line(const std::vector<double>& x, const std::vector<double>& y, const std::string& name,
          const std::string& color, double width = 2, const char* dash = "solid") {
  return {{"type", "scatter"}, {"mode", "lines"},
          {"name", name},      {"x", Thin(x)},
          {"y", Thin(y)},      {"line", {{"color", color}, {"width", width}, {"dash", dash}}}};
}

// a metric as NaturalDreamer draws it: the raw values thin and grey (hidden until clicked in the
// legend), and the smoothed curve
void AddRawAndSmoothed(Figure& f, const Series& s, const std::string& name,
                       const std::string& color) {
  const auto [x, y] = Columns(s);
  json raw = Line(x, y, name + " (raw)", "#9a9a9a", 1, "dot");
  raw["opacity"] = 0.5;
  f.data.push_back(raw);
  f.data.push_back(Line(x, Smooth(y), name, color));
}

// a horizontal line across the figure (a threshold, a clip limit, a reference)
void AddLevel(Figure& f, double y, const std::string& name, const std::string& color) {
  f.layout["shapes"].push_back({{"type", "line"},
                                {"xref", "paper"},
                                {"x0", 0},
                                {"x1", 1},
                                {"y0", y},
                                {"y1", y},
                                {"line", {{"color", color}, {"dash", "dash"}, {"width", 1.5}}}});
  f.layout["annotations"].push_back({{"xref", "paper"},
                                     {"x", 1},
                                     {"xanchor", "right"},
                                     {"y", y},
                                     {"yanchor", "bottom"},
                                     {"text", name},
                                     {"showarrow", false},
                                     {"font", {{"color", color}, {"size", 10}}}});
}

// mean with a band from low to high
void AddBand(Figure& f, const std::vector<double>& x, const std::vector<double>& mean,
             const std::vector<double>& low, const std::vector<double>& high,
             const std::string& name, const std::string& color) {
  json lower = Line(x, low, name + " band", color, 0);
  lower["showlegend"] = false;
  json upper = Line(x, high, name + " band", color, 0);
  upper["fill"] = "tonexty";
  upper["fillcolor"] = color + "40";
  upper["showlegend"] = false;
  f.data.push_back(lower);
  f.data.push_back(upper);
  f.data.push_back(Line(x, mean, name, color));
}

struct Section {
  std::string id, title, note;  // note: a line of text under the title (may be "")
  std::vector<Figure> figures;
  std::string html;  // extra content after the figures (video, tables)
};

// ---- one run ---------------------------------------------------------------------------------

const Series* Find(const RunRecord& run, const std::string& tag) {
  const auto it = run.metrics.find(tag);
  return it == run.metrics.end() || it->second.empty() ? nullptr : &it->second;
}

// a scalar of the run's config by key path ("env.id", "ppo.max_grad_norm"), or ""
std::string ConfigValue(const RunRecord& run, const std::string& key) {
  const auto it = run.config.find(key);
  return it == run.config.end() ? "" : it->second;
}

std::optional<double> RewardThreshold(const RunRecord& run) {
  try {
    return env::Lookup(ConfigValue(run, "env.id")).spec.reward_threshold;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Section LearningCurves(const RunRecord& run) {
  Section s{"learning", "Learning curves", ""};
  const std::optional<double> threshold = RewardThreshold(run);
  if (const Series* ret = Find(run, "charts/episodic_return")) {
    Figure f = MakeFigure("Training episodes: return", "env steps", "return");
    const auto [x, y] = Columns(*ret);
    json points = {{"type", "scatter"}, {"mode", "markers"},
                   {"name", "episode"}, {"x", Thin(x)},
                   {"y", Thin(y)},      {"marker", {{"size", 3}, {"color", "#9a9a9a"}}}};
    f.data.push_back(points);
    f.data.push_back(Line(x, Smooth(y), "smoothed (EMA 0.6)", Color(0)));
    if (threshold) AddLevel(f, *threshold, "reward threshold", "#00cc96");
    s.figures.push_back(f);
  }
  const Series* mean = Find(run, "eval/episodic_return");
  const Series* std = Find(run, "eval/episodic_return_std");
  if (mean != nullptr) {
    Figure f = MakeFigure("Evaluation: mean return ± std", "env steps", "return");
    const auto [x, m] = Columns(*mean);
    std::vector<double> low = m, high = m;
    for (size_t i = 0; std != nullptr && i < m.size() && i < std->size(); ++i)
      low[i] = m[i] - (*std)[i].second, high[i] = m[i] + (*std)[i].second;
    AddBand(f, x, m, low, high, "evaluation", Color(1));
    f.data.back()["mode"] = "lines+markers";
    if (threshold) AddLevel(f, *threshold, "reward threshold", "#00cc96");
    s.figures.push_back(f);
  }
  if (const Series* length = Find(run, "charts/episodic_length")) {
    Figure f = MakeFigure("Training episodes: length", "env steps", "steps");
    AddRawAndSmoothed(f, *length, "length", Color(2));
    s.figures.push_back(f);
  }
  if (s.figures.empty()) s.note = "No episode has finished yet.";
  return s;
}

bool IsCommon(const std::string& tag) {
  for (const char* prefix : {"charts/episodic_", "eval/", "opt/", "charts/SPS", "fps/", "cloud/"})
    if (tag.rfind(prefix, 0) == 0) return true;
  return false;
}

Section AlgorithmMetrics(const RunRecord& run) {
  Section s{"losses", "Losses and algorithm metrics", ""};
  size_t k = 0;
  for (const auto& [tag, series] : run.metrics) {
    if (IsCommon(tag) || series.empty()) continue;
    Figure f = MakeFigure(tag, "env steps", "");
    AddRawAndSmoothed(f, series, tag.substr(tag.rfind('/') + 1), Color(k++));
    s.figures.push_back(f);
  }
  if (s.figures.empty()) s.note = "No losses logged yet (learning has not started).";
  return s;
}

Section OptimizerHealth(const RunRecord& run) {
  Section s{"optimizer", "Optimizer health", ""};
  // networks: opt/<net>/grad_norm, and DreamerV3's totals opt/grad_norm as "all networks"
  std::vector<std::pair<std::string, std::string>> nets;  // (label, tag prefix)
  for (const auto& [tag, series] : run.metrics) {
    const std::string suffix = "/grad_norm";
    if (tag.rfind("opt/", 0) != 0 || tag.size() < suffix.size() ||
        tag.compare(tag.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string prefix = tag.substr(0, tag.size() - suffix.size() + 1);
    nets.emplace_back(prefix == "opt/" ? "all networks" : prefix.substr(4, prefix.size() - 5),
                      prefix);
  }
  // the clip limit, where the algorithm's config has one
  std::string algo = ConfigValue(run, "algo"), clip;
  try {
    for (const std::string& section : algos::Find(algo).sections)
      if (clip.empty()) clip = ConfigValue(run, section + ".max_grad_norm");
  } catch (const std::exception&) {
  }
  const double clip_value = clip.empty() ? 0.0 : std::atof(clip.c_str());
  size_t k = 0;
  for (const auto& [net, prefix] : nets) {
    Figure norm = MakeFigure(net + ": gradient norm before clipping", "env steps", "L2 norm", true);
    AddRawAndSmoothed(norm, *Find(run, prefix + "grad_norm"), "grad_norm", Color(k));
    if (clip_value > 0 && net != "all networks")
      AddLevel(norm, clip_value, "clip " + clip, "#EF553B");
    s.figures.push_back(norm);
    Figure rms = MakeFigure(net + ": parameter and update RMS", "env steps", "RMS", true);
    if (const Series* p = Find(run, prefix + "param_rms")) {
      const auto [x, y] = Columns(*p);
      rms.data.push_back(Line(x, y, "param_rms", Color(k)));
    }
    if (const Series* u = Find(run, prefix + "update_rms")) {
      const auto [x, y] = Columns(*u);
      rms.data.push_back(Line(x, Smooth(y), "update_rms", Color(k + 1)));
    }
    s.figures.push_back(rms);
    if (const Series* r = Find(run, prefix + "update_ratio")) {
      Figure ratio = MakeFigure(net + ": update / parameter RMS", "env steps", "ratio", true);
      AddRawAndSmoothed(ratio, *r, "update_ratio", Color(k + 2));
      AddLevel(ratio, 1e-3, "1e-3", "#9a9a9a");
      s.figures.push_back(ratio);
    }
    ++k;
  }
  if (s.figures.empty()) s.note = "No optimizer step logged yet.";
  return s;
}

Section Throughput(const RunRecord& run) {
  Section s{"throughput", "Throughput", ""};
  Figure f = MakeFigure("Env steps per second", "env steps", "SPS");
  size_t k = 0;
  for (const char* tag : {"charts/SPS", "fps/policy", "fps/train"}) {
    if (const Series* sps = Find(run, tag)) {
      const auto [x, y] = Columns(*sps);
      f.data.push_back(Line(x, y, tag, Color(k++)));
    }
  }
  if (!f.data.empty())
    s.figures.push_back(f);
  else
    s.note = "No throughput logged yet.";
  return s;
}

Section Video(const RunRecord& run, const std::string& out) {
  Section s{"video", "Latest evaluation video", ""};
  if (run.video.empty()) {
    s.note = "No evaluation video (set eval.video: true to record one at each evaluation).";
    return s;
  }
  const fs::path rel = fs::proximate(run.video, fs::absolute(out).parent_path());
  s.note = Html(fs::path(run.video).filename().string());
  s.html = "<video controls muted loop src=\"" + Html(rel.string()) + "\"></video>";
  return s;
}

// the latest evaluation's first episode: the env's named signals (grouped by the part of the
// name before '/'), or its observation dimensions; actions; reward and its terms
Section Dashboard(const RunRecord& run) {
  Section s{"episode", "Episode dashboard", ""};
  const json& e = run.episode;
  if (e.is_null()) {
    s.note = "No evaluation yet.";
    return s;
  }
  s.note = "The first episode of the evaluation at step " +
           std::to_string(e.value("global_step", 0)) + " (" + Html(e.value("env", std::string())) +
           ").";
  auto steps = [](size_t n, double first) {
    std::vector<double> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = first + static_cast<double>(i);
    return x;
  };
  // groups in order of first appearance
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> groups;
  static const json kNone = json::array();
  const json& signals = e.contains("signals") ? e["signals"] : kNone;  // groups point into it
  for (const json& g : signals) {
    const std::string name = g.value("name", std::string());
    const std::string group = name.substr(0, name.find('/'));
    if (groups.find(group) == groups.end()) order.push_back(group);
    groups[group].push_back(&g);
  }
  for (const std::string& group : order) {
    const auto& members = groups[group];
    const std::string style = members[0]->value("style", std::string("line"));
    // the group's unit when its members share one (MuJoCo's qpos mixes m and rad: then each
    // member's name carries its own)
    std::string unit = members[0]->value("unit", std::string());
    for (const json* g : members)
      if (g->value("unit", std::string()) != unit) unit = "mixed";
    const bool mixed = unit == "mixed";
    Figure f = MakeFigure(group + (unit.empty() || mixed ? "" : " (" + unit + ")"),
                          "step in episode", mixed ? "" : unit);
    if (style == "heatmap") {
      json z = json::array(), names = json::array();
      for (const json* g : members) {
        z.push_back(Thin((*g)["values"].get<std::vector<double>>()));
        names.push_back(g->value("name", std::string()).substr(group.size() + 1));
      }
      f.data.push_back({{"type", "heatmap"}, {"z", z}, {"y", names}, {"colorscale", "Viridis"}});
      f.layout["yaxis"]["title"]["text"] = "";
    } else {
      for (size_t k = 0; k < members.size(); ++k) {
        const json& g = *members[k];
        std::vector<double> y = g["values"].get<std::vector<double>>();
        const std::string own_unit = g.value("unit", std::string());
        const std::string label = g.value("name", std::string()).substr(group.size() + 1) +
                                  (mixed && !own_unit.empty() ? " (" + own_unit + ")" : "");
        if (style == "steps") {  // a gait chart: one 0/1 lane per signal
          for (double& v : y) v += static_cast<double>(k) * 1.5;
        }
        json line = Line(steps(y.size(), 0), y, label, Color(k));
        if (style == "steps") line["line"]["shape"] = "hv";
        f.data.push_back(line);
        for (const char* bound : {"low", "high"}) {
          if (!g.contains(bound) || !g[bound].is_number()) continue;
          const double v = g[bound].get<double>();
          json limit = Line({0.0, static_cast<double>(y.size() - 1)}, {v, v}, label + " " + bound,
                            Color(k), 1, "dash");
          limit["showlegend"] = false;
          f.data.push_back(limit);
        }
      }
    }
    s.figures.push_back(f);
  }
  if (groups.empty() && e.contains("obs")) {  // the observation, 8 dimensions a chart
    const auto obs = e["obs"].get<std::vector<std::vector<double>>>();
    for (size_t first = 0; first < obs.size(); first += 8) {
      Figure f = MakeFigure("observation " + std::to_string(first) + "-" +
                                std::to_string(std::min(obs.size(), first + 8) - 1),
                            "step in episode", "");
      for (size_t k = first; k < std::min(obs.size(), first + 8); ++k)
        f.data.push_back(Line(steps(obs[k].size(), 0), obs[k], "obs[" + std::to_string(k) + "]",
                              Color(k - first)));
      s.figures.push_back(f);
    }
  }
  if (e.contains("actions") && !e["actions"].empty()) {
    Figure f = MakeFigure("actions", "step in episode", "action");
    const auto actions = e["actions"].get<std::vector<std::vector<double>>>();
    for (size_t j = 0; j < actions.size(); ++j)
      f.data.push_back(Line(steps(actions[j].size(), 1), actions[j], "a[" + std::to_string(j) + "]",
                            Color(j), 1.5));
    s.figures.push_back(f);
  }
  const auto rewards = e.value("rewards", std::vector<double>());
  if (!rewards.empty()) {
    Figure f = MakeFigure("reward per step and return", "step in episode", "reward");
    std::vector<double> ret(rewards.size());
    double sum = 0;
    for (size_t i = 0; i < rewards.size(); ++i) ret[i] = sum += rewards[i];
    f.data.push_back(Line(steps(rewards.size(), 1), rewards, "reward", Color(0), 1.5));
    json cumulative = Line(steps(rewards.size(), 1), ret, "return", Color(1));
    cumulative["yaxis"] = "y2";
    f.data.push_back(cumulative);
    f.layout["yaxis2"] = Axis("return");
    f.layout["yaxis2"]["overlaying"] = "y";
    f.layout["yaxis2"]["side"] = "right";
    s.figures.push_back(f);
    if (e.contains("info") && !e["info"].empty()) {
      Figure terms = MakeFigure("reward terms and info", "step in episode", "");
      size_t k = 0;
      for (const auto& [key, values] : e["info"].items()) {
        if (key.rfind("episode.", 0) == 0) continue;
        const auto v = values.get<std::vector<double>>();
        terms.data.push_back(Line(steps(v.size(), 1), v, key, Color(k++), 1.5));
      }
      if (!terms.data.empty()) s.figures.push_back(terms);
    }
  }
  return s;
}

std::string FactsTable(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string html = "<table class=\"facts\">";
  for (const auto& [key, value] : rows)
    html += "<tr><th>" + Html(key) + "</th><td>" + Html(value) + "</td></tr>";
  return html + "</table>";
}

std::string Number(double v, int digits = 1) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string RunHeader(const RunRecord& run) {
  auto last = [&](const std::string& tag) {
    const Series* s = Find(run, tag);
    return s == nullptr ? NAN : s->back().second;
  };
  int64_t steps = 0;
  for (const auto& [tag, series] : run.metrics) steps = std::max(steps, series.back().first);
  const std::string algo = ConfigValue(run, "algo");
  const std::string env_id = ConfigValue(run, "env.id");
  return "<h1>" + Html(run.name) + "</h1>" +
         FactsTable({{"algorithm", algo},
                     {"environment", env_id},
                     {"seed", ConfigValue(run, "seed")},
                     {"env steps logged", std::to_string(steps)},
                     {"last SPS", Number(last("charts/SPS"), 0)},
                     {"last evaluation return", Number(last("eval/episodic_return"))},
                     {"final score", Number(FinalScore(run))}}) +
         "<details><summary>resolved config</summary><pre>" + Html(run.config_yaml) +
         "</pre></details>";
}

// ---- several runs ----------------------------------------------------------------------------

// the config without its seed: runs that differ only in seed form one group
std::string GroupKey(const std::string& config_yaml) {
  std::string out;
  std::istringstream in(config_yaml);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("seed:", 0) != 0) out += line + "\n";
  return out;
}

// the value at or before `step` (the last one logged by then), NaN before the first
double ValueAt(const Series& s, int64_t step) {
  const auto it = std::upper_bound(s.begin(), s.end(), step,
                                   [](int64_t v, const auto& p) { return v < p.first; });
  return it == s.begin() ? NAN : std::prev(it)->second;
}

// the series a comparison draws: the evaluation mean return, else the smoothed training return
Series CurveOf(const RunRecord& run) {
  if (const Series* e = Find(run, "eval/episodic_return")) return *e;
  Series out;
  if (const Series* t = Find(run, "charts/episodic_return")) {
    const auto [x, y] = Columns(*t);
    const std::vector<double> smooth = Smooth(y);
    for (size_t i = 0; i < x.size(); ++i) out.emplace_back(static_cast<int64_t>(x[i]), smooth[i]);
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  double m = 0;
  for (const double x : v) m += x / static_cast<double>(v.size());
  return m;
}

std::vector<Section> Comparison(const std::vector<RunRecord>& runs) {
  std::vector<std::string> keys;
  std::map<std::string, std::vector<const RunRecord*>> groups;
  for (const RunRecord& run : runs) {
    const std::string key = GroupKey(run.config_yaml);
    if (groups.find(key) == groups.end()) keys.push_back(key);
    groups[key].push_back(&run);
  }
  auto label = [&](size_t g) {
    const RunRecord& first = *groups[keys[g]][0];
    return std::string(1, static_cast<char>('A' + g % 26)) + ": " + ConfigValue(first, "algo") +
           " on " + ConfigValue(first, "env.id");
  };
  Section curves{"compare", "Return across seeds", ""};
  curves.note =
      "Per config: the mean over seeds with a 95% bootstrap band (seeds resampled 2000 times) of "
      "the evaluation return (the smoothed training return where a run has no evaluation); thin "
      "lines are the seeds.";
  Figure f = MakeFigure("Return: mean over seeds, 95% bootstrap band", "env steps", "return");
  Section final_section{"iqm", "Final score", ""};
  final_section.note =
      "Final score per run: its last evaluation mean return (else the mean of its last 10 training "
      "episodes). Interquartile mean over seeds with a 95% percentile bootstrap interval "
      "(rliable's aggregate).";
  Figure bars = MakeFigure("Interquartile mean of the final score", "", "return");
  std::string table =
      "<table class=\"facts\"><tr><th>config</th><th>runs</th><th>final scores"
      "</th><th>IQM [95% CI]</th></tr>";
  Rng rng(0);
  for (size_t g = 0; g < keys.size(); ++g) {
    const auto& members = groups[keys[g]];
    std::vector<Series> series;
    for (const RunRecord* run : members) series.push_back(CurveOf(*run));
    // the steps every seed has reached
    std::vector<int64_t> grid;
    for (const Series& s : series)
      for (const auto& [step, value] : s) grid.push_back(step);
    std::sort(grid.begin(), grid.end());
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    std::vector<double> x, mean, low, high;
    for (const int64_t step : grid) {
      std::vector<double> values;
      for (const Series& s : series) values.push_back(ValueAt(s, step));
      if (std::any_of(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }))
        continue;
      std::vector<double> means;
      for (int r = 0; r < 2000; ++r) {
        double m = 0;
        for (size_t i = 0; i < values.size(); ++i)
          m += values[static_cast<size_t>(rng.Integers(static_cast<int64_t>(values.size())))];
        means.push_back(m / static_cast<double>(values.size()));
      }
      std::sort(means.begin(), means.end());
      x.push_back(static_cast<double>(step));
      mean.push_back(Mean(values));
      low.push_back(means[50]), high.push_back(means[1949]);
    }
    AddBand(f, x, mean, low, high, label(g), Color(g));
    for (size_t i = 0; i < series.size(); ++i) {
      const auto [sx, sy] = Columns(series[i]);
      json seed = Line(sx, sy, members[i]->name, Color(g), 0.8);
      seed["opacity"] = 0.4;
      seed["showlegend"] = false;
      f.data.push_back(seed);
    }
    std::vector<double> scores;
    std::string listed;
    for (const RunRecord* run : members) {
      const double score = FinalScore(*run);
      listed += (listed.empty() ? "" : ", ") + run->name + " " + Number(score);
      if (std::isfinite(score)) scores.push_back(score);
    }
    std::string iqm_text = "-";
    if (!scores.empty()) {
      const Interval iqm = IqmWithBootstrap(scores, 2000, g);
      bars.data.push_back({{"type", "bar"},
                           {"name", label(g)},
                           {"x", {label(g)}},
                           {"y", {iqm.value}},
                           {"marker", {{"color", Color(g)}}},
                           {"error_y",
                            {{"type", "data"},
                             {"symmetric", false},
                             {"array", {iqm.high - iqm.value}},
                             {"arrayminus", {iqm.value - iqm.low}}}}});
      iqm_text = Number(iqm.value) + " [" + Number(iqm.low) + ", " + Number(iqm.high) + "]";
    }
    table += "<tr><td>" + Html(label(g)) + "</td><td>" + std::to_string(members.size()) +
             "</td><td>" + Html(listed) + "</td><td>" + Html(iqm_text) + "</td></tr>";
  }
  curves.figures.push_back(f);
  final_section.figures.push_back(bars);
  final_section.html = table + "</table>";
  return {curves, final_section};
}

// ---- the page --------------------------------------------------------------------------------

constexpr const char* kStyle = R"css(
body { background: rgb(17,17,17); color: #f2f5fa; font-family: "DejaVu Sans", sans-serif;
       margin: 0 24px 40px; }
h1 { font-size: 24px; margin: 18px 0 8px; }
h2 { font-size: 18px; border-bottom: 1px solid #283442; padding-bottom: 4px; margin-top: 28px; }
nav a { color: #19d3f3; margin-right: 14px; font-size: 14px; }
.note { color: #b0b8c8; font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 10px; }
.plot { min-height: 330px; }
table.facts { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
table.facts th, table.facts td { border: 1px solid #283442; padding: 3px 10px; text-align: left; }
pre { font-size: 12px; background: #1b1f27; padding: 8px; overflow: auto; max-height: 400px; }
video { max-width: 640px; width: 100%; border: 1px solid #283442; }
summary { cursor: pointer; color: #19d3f3; }
)css";

std::string Page(const std::string& title, const std::string& header,
                 const std::vector<Section>& sections) {
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + Html(title) +
                     "</title>\n<style>" + kStyle +
                     "</style>\n<script>/* plotly.js-cartesian-dist-min " + PlotlyVersion() +
                     " (MIT) */\n";
  html += PlotlyJs();
  html += "\n</script></head>\n<body>\n<header>" + header + "</header>\n<nav>";
  for (const Section& s : sections) html += "<a href=\"#" + s.id + "\">" + Html(s.title) + "</a>";
  html += "</nav>\n";
  json figures = json::array();
  for (const Section& s : sections) {
    html += "<section id=\"" + s.id + "\"><h2>" + Html(s.title) + "</h2>";
    if (!s.note.empty()) html += "<p class=\"note\">" + s.note + "</p>";
    html += "<div class=\"grid\">";
    for (const Figure& f : s.figures) {
      const std::string id = "plot" + std::to_string(figures.size());
      html += "<div class=\"plot\" id=\"" + id + "\"></div>";
      figures.push_back({{"id", id}, {"data", f.data}, {"layout", f.layout}});
    }
    html += "</div>" + s.html + "</section>\n";
  }
  html += "<script>\nconst FIGURES = " + ScriptJson(figures) +
          ";\nfor (const f of FIGURES) Plotly.newPlot(f.id, f.data, f.layout, "
          "{responsive: true, displaylogo: false});\n</script>\n</body></html>\n";
  return html;
}

}  // namespace

RunRecord ReadRun(const std::string& dir) {
  RunRecord run;
  run.dir = dir;
  run.name = fs::path(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = fs::path(dir).lexically_normal().parent_path().filename();
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder (expected a run folder)");
  if (!fs::exists(fs::path(dir) / "config.yaml"))
    throw Error(dir + ": not a run folder (no config.yaml; expected what `rlforge train` writes)");
  run.config_yaml = ReadText(fs::path(dir) / "config.yaml");
  try {
    run.config = FlatConfig(run.config_yaml);
  } catch (const YAML::Exception& e) {
    throw Error(dir + "/config.yaml: not valid YAML (" + e.what() + ")");
  }
  const fs::path csv = fs::path(dir) / "metrics.csv";
  if (!fs::exists(csv)) throw Error(csv.string() + ": missing (the run has logged nothing yet)");
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  if (line != "step,wall_time,tag,value")
    throw Error(csv.string() + ": line 1: expected the header step,wall_time,tag,value");
  for (int64_t number = 2; std::getline(in, line); ++number) {
    const size_t a = line.find(','), b = line.find(',', a + 1), c = line.rfind(',');
    char* end = nullptr;
    const double value = c != std::string::npos ? std::strtod(line.c_str() + c + 1, &end) : 0.0;
    if (a == std::string::npos || b == std::string::npos || c <= b || end == nullptr ||
        *end != '\0') {
      throw Error(csv.string() + ": line " + std::to_string(number) +
                  ": expected step,wall_time,tag,value");
    }
    run.metrics[line.substr(b + 1, c - b - 1)].emplace_back(std::atoll(line.c_str()), value);
  }
  const fs::path episode = fs::path(dir) / "eval_episode.json";
  if (fs::exists(episode)) {
    try {
      run.episode = json::parse(ReadText(episode));
    } catch (const json::exception& e) {
      throw Error(episode.string() + ": not valid JSON (" + e.what() + ")");
    }
  }
  // the latest video: videos/step_<N>.<ext> with the largest N
  int64_t latest = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir) / "videos", ec)) {
    const std::string name = entry.path().stem().string();
    if (name.rfind("step_", 0) != 0) continue;
    const int64_t step = std::atoll(name.c_str() + 5);
    if (step > latest) latest = step, run.video = entry.path().string();
  }
  return run;
}

double FinalScore(const RunRecord& run) {
  if (const Series* e = Find(run, "eval/episodic_return")) return e->back().second;
  const Series* t = Find(run, "charts/episodic_return");
  if (t == nullptr) return NAN;
  const size_t n = std::min<size_t>(10, t->size());
  double sum = 0;
  for (size_t i = t->size() - n; i < t->size(); ++i) sum += (*t)[i].second;
  return sum / static_cast<double>(n);
}

Interval IqmWithBootstrap(const std::vector<double>& values, int reps, uint64_t seed) {
  auto iqm = [](std::vector<double> v) {  // scipy.stats.trim_mean(v, 0.25)
    std::sort(v.begin(), v.end());
    const size_t cut = v.size() / 4;  // int(0.25 * n)
    double sum = 0;
    for (size_t i = cut; i < v.size() - cut; ++i) sum += v[i];
    return sum / static_cast<double>(v.size() - 2 * cut);
  };
  if (values.empty()) throw Error("interquartile mean of no values");
  Rng rng(seed);
  std::vector<double> stats, sample(values.size());
  for (int r = 0; r < reps; ++r) {
    for (double& x : sample)
      x = values[static_cast<size_t>(rng.Integers(static_cast<int64_t>(values.size())))];
    stats.push_back(iqm(sample));
  }
  std::sort(stats.begin(), stats.end());
  auto percentile = [&](double q) {  // numpy's linear interpolation
    const double at = q * static_cast<double>(stats.size() - 1);
    const auto i = static_cast<size_t>(at);
    const double frac = at - static_cast<double>(i);
    return i + 1 < stats.size() ? stats[i] * (1 - frac) + stats[i + 1] * frac : stats[i];
  };
  return {iqm(values), percentile(0.025), percentile(0.975)};
}

std::string ReportHtml(const std::vector<RunRecord>& runs, const std::string& out) {
  if (runs.empty()) throw Error("report: no run given");
  if (runs.size() == 1) {
    const RunRecord& run = runs[0];
    Section dashboard;
    try {
      dashboard = Dashboard(run);
    } catch (const json::exception& e) {
      throw Error(run.dir + "/eval_episode.json: unexpected content (" + e.what() + ")");
    }
    return Page("rlforge report: " + run.name, RunHeader(run),
                {LearningCurves(run), AlgorithmMetrics(run), OptimizerHealth(run), Throughput(run),
                 Video(run, out), dashboard});
  }
  std::string header = "<h1>rlforge: " + std::to_string(runs.size()) + " runs compared</h1>";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const RunRecord& run : runs)
    rows.emplace_back(run.name, ConfigValue(run, "algo") + " on " + ConfigValue(run, "env.id") +
                                    ", seed " + ConfigValue(run, "seed") + ", final score " +
                                    Number(FinalScore(run)));
  return Page("rlforge report: " + std::to_string(runs.size()) + " runs", header + FactsTable(rows),
              Comparison(runs));
}

void WriteReport(const std::vector<std::string>& run_dirs, const std::string& out) {
  std::vector<RunRecord> runs;
  for (const std::string& dir : run_dirs) runs.push_back(ReadRun(dir));
  WriteFileAtomic(out, ReportHtml(runs, out));
}

// ---- the callback ----------------------------------------------------------------------------

void ReportCallback::OnMetric(int64_t, const std::string& tag, double) {
  if (tag == "eval/episodic_return") evaluated_ = true;
}

void ReportCallback::OnIteration(Context&, Algorithm&) {
  if (evaluated_) Write();
}

void ReportCallback::OnCheckpoint(Context&, const std::string&, const std::string&) { Write(); }

void ReportCallback::OnEnd(Context&, Algorithm&) { Write(); }

void ReportCallback::Write() {
  evaluated_ = false;
  try {  // a report is a view of the run: it never stops training
    WriteReport({run_dir_}, run_dir_ + "/report.html");
  } catch (const std::exception& e) {
    if (!warned_) std::fprintf(stderr, "\nwarning: report.html not written: %s\n", e.what());
    warned_ = true;
  }
}

}  // namespace rlforge::train
