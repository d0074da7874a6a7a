// DreamerV3's open-loop predictions as pictures (official report: "openloop"): the model observes
// the first `context` steps of replayed sequences and imagines the rest from the recorded
// actions. Images: one frame per step, a column per sequence, rows truth / prediction / error,
// each tile framed green while observed and red while imagined, written as a video. Vectors: a
// PNG with one panel per dimension, truth and prediction over the steps. No LibTorch here.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "rlforge/env/env.h"

namespace rlforge::dreamer {

// Sequences of predictions beside the truth, both (B x T x H x W x C) in [0, 1] (images) or
// (B x T x D) raw values (vectors), and the observed steps.
struct OpenLoop {
  int64_t sequences = 0, steps = 0, context = 0;
  int64_t height = 0, width = 0, channels = 0;  // images; 0 for vectors
  int64_t dims = 0;                             // vectors; 0 for images
  std::span<const float> truth, prediction;
};

// Mean squared error per value over the sequences and the first `steps` imagined steps: of the
// prediction, and of the baseline that repeats the last observed step.
struct OpenLoopErrors {
  double prediction = 0, repeat_last = 0;
};
OpenLoopErrors OpenLoopError(const OpenLoop& o, int64_t steps);

constexpr int kOpenLoopBorder = 2;  // tile frame width, pixels
constexpr int kOpenLoopScale = 2;   // pixels per observation pixel

// The picture of step t: (3 (H + 2 border)) scale x (B (W + 2 border)) scale RGB. Error is
// |prediction - truth| in grey; grayscale observations are shown grey, other channel counts use
// their first three (or first) channels.
env::Image OpenLoopFrame(const OpenLoop& o, int64_t t);
// Every step's frame as a video (mp4 or webm by extension), written atomically.
void WriteOpenLoopVideo(const OpenLoop& o, const std::string& path, int fps);
// Two frames side by side as a PNG (written atomically): the last observed step and the last
// imagined one.
void WriteOpenLoopStill(const OpenLoop& o, const std::string& path);
// Vectors: panels of truth (black) and prediction (blue) per dimension for the first sequence,
// the observed steps shaded green and the imagined red, as a PNG written atomically.
void WriteOpenLoopPlot(const OpenLoop& o, const std::string& path);

}  // namespace rlforge::dreamer
