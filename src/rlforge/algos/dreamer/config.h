// DreamerV3's knobs (`dreamer:` in a config). Defaults are the 2024/Nature version of the official
// code (danijar/dreamerv3, configs.yaml; ../shared/reference/notes_dreamerv3.md section 1): size1m
// on vector observations, B 16 x T 64, horizon 15, one LaProp optimizer. Where the 2023 (arXiv v1)
// version differs and a knob is cheap, the knob is here with the 2023 value named. No LibTorch in
// this header: the CLI reads and checks the config; the plugin librlforge_dreamer.so trains.
#pragma once

#include <cstdint>
#include <string>

#include "rlforge/core/config.h"

namespace rlforge::algos {

// Layer widths of a model-size preset (official table; 32 latents and 8 GRU blocks for all).
struct DreamerSize {
  int64_t deter;    // GRU state h
  int64_t hidden;   // RSSM projections
  int64_t classes;  // classes per latent
  int64_t units;    // MLP widths of encoder, decoder, heads, actor, critic
  int64_t depth;    // CNN depth d: channels 2d, 3d, 4d, 4d (2023 strided: d, 2d, 4d, 8d)
};

struct DreamerConfig {
  // model
  std::string size = "size1m";  // official presets: size1m, size12m, size25m, size50m
  int64_t deter = 0;            // overrides of the preset (0 = the preset's)
  int64_t hidden = 0;
  int64_t classes = 0;
  int64_t units = 0;
  int64_t depth = 0;
  std::string cnn = "pool";  // image encoder/decoder: pool (2024) or strided (2023)
  int64_t stoch = 32;        // categorical latents (official: 32)
  int64_t blocks = 8;        // GRU blocks (official: 8)
  double unimix = 0.01;
  // data
  double train_ratio = 512;  // replayed steps per env step: updates = ratio / (B x T)
  int64_t batch_size = 16;
  int64_t batch_length = 64;
  int64_t buffer_size = 1'000'000;  // steps kept, all envs together (official: 5e6)
  int64_t prefill = 2500;           // random-policy env steps before learning (whole episodes)
  int64_t imag_last = 0;  // imagination starts: the last k steps of each sequence, 0 = all
  // losses
  int64_t horizon = 333;  // gamma = 1 - 1/horizon
  int64_t imag_horizon = 15;
  double lambda = 0.95;
  double free_nats = 1.0;
  double dyn_scale = 1.0;  // 2023: 0.5
  double rep_scale = 0.1;
  double repval_scale = 0.3;      // replay value loss; 2023: 0 (none)
  bool contdisc = true;           // continue head predicts gamma (1 - terminal); 2023: false
  std::string twohot = "symexp";  // bins: symexp-spaced in raw space; 2023: symlog (linear)
  double actent = 3e-4;
  double slow_rate = 0.02;  // slow critic EMA
  double slowreg = 1.0;
  double retnorm_decay = 0.99;
  double retnorm_limit = 1.0;
  // optimizer
  std::string optimizer = "laprop";  // laprop (2024: one optimizer) or adam (2023: three)
  double lr = 4e-5;
  int64_t warmup = 1000;
  double agc = 0.3;
  double eps = 1e-20;
  double model_lr = 1e-4;    // adam: world model (2023), eps 1e-8, clip 1000
  double ac_lr = 3e-5;       // adam: actor and critic (2023), eps 1e-5, clip 100
  double critic_lr = 0;      // adam: the critic's own learning rate, 0 = ac_lr
  double model_clip = 1000;  // adam: world-model global gradient-norm limit (2023: 1000)
  double ac_clip = 100;      // adam: actor's and critic's limits (2023: 100)
  // run
  std::string device = "cpu";
  int64_t log_every = 250;                // env steps between metric rows
  bool openloop = true;                   // open-loop prediction video/plot at each evaluation
  int64_t openloop_sequences = 4;         // replayed sequences shown side by side
  int64_t openloop_error_sequences = 32;  // replayed sequences the open-loop errors average over

  // The preset's widths with the overrides applied; an Error naming dreamer.size if unknown.
  DreamerSize Size() const;
  double gamma() const { return 1.0 - 1.0 / static_cast<double>(horizon); }
  // Errors naming the key for values that cannot work together.
  void Validate() const;

  template <class V>
  void Visit(V& v) {
    using config::Range;
    v("size", size, "model preset: size1m, size12m, size25m, size50m (official table)");
    v("deter", deter, "GRU state size, 0 = the preset's", Range::Closed(0, 65536));
    v("hidden", hidden, "RSSM projection width, 0 = the preset's", Range::Closed(0, 65536));
    v("classes", classes, "classes per latent, 0 = the preset's", Range::Closed(0, 1024));
    v("units", units, "MLP width, 0 = the preset's", Range::Closed(0, 65536));
    v("depth", depth, "CNN depth d (image observations), 0 = the preset's", Range::Closed(0, 4096));
    v("cnn", cnn,
      "image encoder/decoder: pool (2024: stride-1 k5 conv + 2x2 max-pool, channels 2d 3d 4d 4d, "
      "sigmoid output) or strided (2023: k4 stride-2 convs, channels d 2d 4d 8d, output + 0.5)",
      config::Choices{{"pool", "strided"}});
    v("stoch", stoch, "categorical latents (official: 32)", Range::Closed(1, 1024));
    v("blocks", blocks, "block-diagonal GRU blocks (official: 8)", Range::Closed(1, 64));
    v("unimix", unimix, "uniform mix of latent and policy categoricals (official: 0.01)",
      Range::Closed(0, 1));
    v("train_ratio", train_ratio,
      "replayed steps per env step; updates per step = train_ratio / (batch_size x batch_length)",
      Range::Positive());
    v("batch_size", batch_size, "sequences per update (official: 16)", Range::Closed(1, 65536));
    v("batch_length", batch_length, "steps per sequence (official: 64)", Range::Closed(2, 65536));
    v("buffer_size", buffer_size, "replay capacity in steps, all envs (official: 5e6)",
      Range::Closed(1, 1e9));
    v("prefill", prefill, "random-policy env steps before learning, rounded up to whole episodes",
      Range::NonNegative());
    v("imag_last", imag_last, "imagine from the last k states of each sequence, 0 = all",
      Range::NonNegative());
    v("horizon", horizon, "discount horizon: gamma = 1 - 1/horizon (official: 333)",
      Range::Closed(1, 1e9));
    v("imag_horizon", imag_horizon, "imagined steps (official: 15)", Range::Closed(1, 10000));
    v("lambda", lambda, "lambda-return mixing (official: 0.95)", Range::Closed(0, 1));
    v("free_nats", free_nats, "free bits per (batch, time) element (official: 1)",
      Range::NonNegative());
    v("dyn_scale", dyn_scale, "dynamics KL scale (2024: 1.0, 2023: 0.5)", Range::NonNegative());
    v("rep_scale", rep_scale, "representation KL scale (official: 0.1)", Range::NonNegative());
    v("repval_scale", repval_scale, "replay value loss scale (2024: 0.3, 2023: 0)",
      Range::NonNegative());
    v("contdisc", contdisc, "continue head predicts gamma x (1 - terminal) (2024: true)");
    v("twohot", twohot, "two-hot bins: symexp (2024) or symlog (2023)",
      config::Choices{{"symexp", "symlog"}});
    v("actent", actent, "actor entropy scale (official: 3e-4)", Range::NonNegative());
    v("slow_rate", slow_rate, "slow critic EMA rate per update (official: 0.02)",
      Range::OpenClosed(0, 1));
    v("slowreg", slowreg, "slow critic regularizer scale (official: 1)", Range::NonNegative());
    v("retnorm_decay", retnorm_decay, "return percentile EMA decay (official: 0.99)",
      Range::Closed(0, 1));
    v("retnorm_limit", retnorm_limit, "advantages are divided by max(limit, P95 - P5)",
      Range::Positive());
    v("optimizer", optimizer, "laprop (2024, one optimizer) or adam (2023, three optimizers)",
      config::Choices{{"laprop", "adam"}});
    v("lr", lr, "laprop learning rate (2024: 4e-5)", Range::Positive());
    v("warmup", warmup, "laprop linear learning-rate warmup in updates (2024: 1000)",
      Range::NonNegative());
    v("agc", agc, "laprop adaptive gradient clipping (2024: 0.3), 0 = off", Range::NonNegative());
    v("eps", eps, "laprop epsilon (2024: 1e-20)", Range::Positive());
    v("model_lr", model_lr, "adam: world-model learning rate (2023: 1e-4)", Range::Positive());
    v("ac_lr", ac_lr, "adam: actor and critic learning rate (2023: 3e-5)", Range::Positive());
    v("critic_lr", critic_lr, "adam: the critic's learning rate, 0 = ac_lr", Range::NonNegative());
    v("model_clip", model_clip, "adam: world-model gradient-norm limit (2023: 1000), 0 = off",
      Range::NonNegative());
    v("ac_clip", ac_clip, "adam: actor and critic gradient-norm limits (2023: 100), 0 = off",
      Range::NonNegative());
    v("device", device, "where LibTorch computes: cpu or cuda", config::Choices{{"cpu", "cuda"}});
    v("log_every", log_every, "env steps between logged averages of the update metrics",
      Range::Closed(1, 1e12));
    v("openloop", openloop,
      "at each evaluation, observe the first half of replayed sequences and imagine the second "
      "from the recorded actions: videos/openloop_<step>.mp4 (images) or .png (vectors)");
    v("openloop_sequences", openloop_sequences, "replayed sequences in an open-loop video/plot",
      Range::Closed(1, 64));
    v("openloop_error_sequences", openloop_error_sequences,
      "replayed sequences the open-loop errors (openloop/mse, openloop/repeat_last_mse) average "
      "over; the video/plot shows the first openloop_sequences of the same draw",
      Range::Closed(1, 256));
  }
};

}  // namespace rlforge::algos
