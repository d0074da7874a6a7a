#include "rlforge/algos/dreamer/openloop.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>

#include "rlforge/envs/classic_control/canvas.h"
#include "rlforge/io/image.h"
#include "rlforge/io/video.h"

namespace rlforge::dreamer {
namespace {

constexpr uint8_t kObserved[3] = {0, 200, 0};  // green frame
constexpr uint8_t kImagined[3] = {220, 0, 0};  // red frame

uint8_t Byte(double v) { return static_cast<uint8_t>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5); }

// Fills a scaled rectangle of the frame with one colour.
void Fill(env::Image& img, int x, int y, int w, int h, const uint8_t rgb[3]) {
  for (int py = y * kOpenLoopScale; py < (y + h) * kOpenLoopScale; ++py) {
    for (int px = x * kOpenLoopScale; px < (x + w) * kOpenLoopScale; ++px) {
      std::copy_n(rgb, 3, &img.rgb[(static_cast<size_t>(py) * img.width + px) * 3]);
    }
  }
}

}  // namespace

OpenLoopErrors OpenLoopError(const OpenLoop& o, int64_t steps) {
  const size_t values = static_cast<size_t>(o.dims > 0 ? o.dims : o.height * o.width * o.channels);
  const int64_t end = std::min(o.steps, o.context + steps);
  OpenLoopErrors e;
  double count = 0;
  for (int64_t b = 0; b < o.sequences; ++b) {
    const size_t seq = static_cast<size_t>(b * o.steps) * values;
    const float* last = o.truth.data() + seq + static_cast<size_t>(o.context - 1) * values;
    for (int64_t t = o.context; t < end; ++t) {
      const size_t at = seq + static_cast<size_t>(t) * values;
      for (size_t i = 0; i < values; ++i) {
        const double truth = o.truth[at + i];
        e.prediction += (o.prediction[at + i] - truth) * (o.prediction[at + i] - truth);
        e.repeat_last += (last[i] - truth) * (last[i] - truth);
      }
      count += static_cast<double>(values);
    }
  }
  e.prediction /= std::max(count, 1.0);
  e.repeat_last /= std::max(count, 1.0);
  return e;
}

env::Image OpenLoopFrame(const OpenLoop& o, int64_t t) {
  const int H = static_cast<int>(o.height), W = static_cast<int>(o.width);
  const int C = static_cast<int>(o.channels), B = static_cast<int>(o.sequences);
  const int tile_h = H + 2 * kOpenLoopBorder, tile_w = W + 2 * kOpenLoopBorder;
  env::Image img;
  img.height = 3 * tile_h * kOpenLoopScale;
  img.width = B * tile_w * kOpenLoopScale;
  img.rgb.assign(static_cast<size_t>(img.height) * img.width * 3, 0);
  const uint8_t* frame = t < o.context ? kObserved : kImagined;
  const size_t pixels = static_cast<size_t>(H) * W * C;
  for (int b = 0; b < B; ++b) {
    const size_t at = (static_cast<size_t>(b) * o.steps + t) * pixels;
    const float* truth = o.truth.data() + at;
    const float* pred = o.prediction.data() + at;
    for (int row = 0; row < 3; ++row) {
      const int x0 = b * tile_w, y0 = row * tile_h;
      Fill(img, x0, y0, tile_w, tile_h, frame);
      for (int y = 0; y < H; ++y) {
        for (int x = 0; x < W; ++x) {
          uint8_t rgb[3];
          for (int k = 0; k < 3; ++k) {
            const size_t i = (static_cast<size_t>(y) * W + x) * C + std::min(k, C - 1);
            const double v = row == 0   ? truth[i]
                             : row == 1 ? pred[i]
                                        : std::abs(static_cast<double>(pred[i]) - truth[i]);
            rgb[k] = Byte(v);
          }
          Fill(img, x0 + kOpenLoopBorder + x, y0 + kOpenLoopBorder + y, 1, 1, rgb);
        }
      }
    }
  }
  return img;
}

void WriteOpenLoopVideo(const OpenLoop& o, const std::string& path, int fps) {
  const env::Image first = OpenLoopFrame(o, 0);
  io::VideoWriter video(path, first.width, first.height, fps);
  video.Write(first);
  for (int64_t t = 1; t < o.steps; ++t) video.Write(OpenLoopFrame(o, t));
  video.Close();
}

void WriteOpenLoopStill(const OpenLoop& o, const std::string& path) {
  const env::Image a = OpenLoopFrame(o, std::max<int64_t>(0, o.context - 1));
  const env::Image b = OpenLoopFrame(o, o.steps - 1);
  constexpr int kGap = 8;
  env::Image img;
  img.height = a.height;
  img.width = 2 * a.width + kGap;
  img.rgb.assign(static_cast<size_t>(img.height) * img.width * 3, 255);
  for (int y = 0; y < a.height; ++y) {
    const size_t row = static_cast<size_t>(y) * a.width * 3;
    uint8_t* out = &img.rgb[static_cast<size_t>(y) * img.width * 3];
    std::copy_n(&a.rgb[row], a.width * 3, out);
    std::copy_n(&b.rgb[row], b.width * 3, out + (a.width + kGap) * 3);
  }
  io::WritePng(img, path);
}

void WriteOpenLoopPlot(const OpenLoop& o, const std::string& path) {
  const int dims = static_cast<int>(std::min<int64_t>(o.dims, 16));
  const int panel_w = 360, panel_h = 120, cols = std::min(dims, 2);
  const int rows = (dims + cols - 1) / cols;
  const int width = cols * panel_w, height = rows * panel_h;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  const double steps = static_cast<double>(o.steps);
  for (int d = 0; d < dims; ++d) {
    const double x0 = (d % cols) * panel_w + 30, y0 = (d / cols) * panel_h + 18;
    const double w = panel_w - 40, h = panel_h - 30;
    auto value = [&](std::span<const float> s, int64_t t) { return s[t * o.dims + d]; };
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t t = 0; t < o.steps; ++t) {
      for (auto s : {o.truth, o.prediction}) {
        lo = std::min<double>(lo, value(s, t)), hi = std::max<double>(hi, value(s, t));
      }
    }
    if (!(hi > lo)) hi = lo + 1.0;
    const double split = x0 + w * static_cast<double>(o.context) / steps;
    cairo_set_source_rgb(cr, 0.88, 0.97, 0.88);  // observed
    cairo_rectangle(cr, x0, y0, split - x0, h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.99, 0.9, 0.9);  // imagined
    cairo_rectangle(cr, split, y0, x0 + w - split, h);
    cairo_fill(cr);
    static constexpr double kTruth[3] = {0, 0, 0}, kPrediction[3] = {0.1, 0.3, 0.9};
    const std::pair<std::span<const float>, const double*> lines[] = {{o.truth, kTruth},
                                                                      {o.prediction, kPrediction}};
    for (const auto& [series, rgb] : lines) {
      cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
      cairo_set_line_width(cr, 1.5);
      for (int64_t t = 0; t < o.steps; ++t) {
        const double x = x0 + w * (static_cast<double>(t) + 0.5) / steps;
        const double y = y0 + h * (1.0 - (value(series, t) - lo) / (hi - lo));
        t == 0 ? cairo_move_to(cr, x, y) : cairo_line_to(cr, x, y);
      }
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 11);
    cairo_move_to(cr, x0, y0 - 5);
    const std::string label = "dim " + std::to_string(d) + "  (black: truth, blue: prediction)";
    cairo_show_text(cr, label.c_str());
  }
  env::Image img{height, width, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  envs::CopyRgb(surface, width, height, img.rgb.data());
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  io::WritePng(img, path);
}

}  // namespace rlforge::dreamer
