#include "rlforge/io/video.h"

#ifdef RLFORGE_HAVE_CAIRO
#include <cairo.h>
#endif
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "rlforge/core/error.h"
#include "rlforge/core/library.h"

namespace rlforge::io {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// FFmpeg's side, loaded at the first video.
const VideoBackend& Backend() {
  static const VideoBackend* backend = [] {
    void* lib = OpenLibrary("video", "videos");
    auto* get = reinterpret_cast<const VideoBackend* (*)()>(
        LibrarySymbol(lib, "librlforge_video.so", "rlforge_video_backend"));
    return get();
  }();
  return *backend;
}

}  // namespace

VideoWriter::VideoWriter(const std::string& path, int width, int height, int fps)
    : path_(path), temp_path_(path + ".part"), width_(width), height_(height) {
  const bool mp4 = EndsWith(path, ".mp4"), webm = EndsWith(path, ".webm");
  if (!mp4 && !webm) throw Error("video: the path must end in .mp4 or .webm, got '" + path + "'");
  if (width <= 0 || height <= 0 || fps <= 0)
    throw Error("video: expected a positive frame size and fps, got " + std::to_string(width) +
                "x" + std::to_string(height) + " at " + std::to_string(fps));
  encoder_ = Backend().open(temp_path_, mp4, width, height, fps);
}

VideoWriter::~VideoWriter() {
  if (closed_) return;
  try {
    Close();
  } catch (...) {
    std::filesystem::remove(temp_path_);
  }
}

void VideoWriter::Write(const env::Image& image) {
  if (image.width != width_ || image.height != height_)
    throw Error("video: frame " + std::to_string(frames_) + " is " + std::to_string(image.width) +
                "x" + std::to_string(image.height) + ", expected " + std::to_string(width_) + "x" +
                std::to_string(height_));
  encoder_->Write(image);
  ++frames_;
}

void VideoWriter::Close() {
  if (closed_) return;
  closed_ = true;
  encoder_->Finish();
  const int fd = ::open(temp_path_.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::filesystem::rename(temp_path_, path_);
}

VideoInfo DecodeVideo(const std::string& path) { return Backend().decode(path); }

Box DrawOverlay(env::Image& frame, const std::vector<std::pair<std::string, std::string>>& lines) {
  if (lines.empty()) return {};
#ifndef RLFORGE_HAVE_CAIRO
  throw Error("video: text on frames needs Cairo, and this build has RLFORGE_CAIRO=OFF");
#else
  const int w = frame.width, h = frame.height;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t* cr = cairo_create(surface);
  const double size = std::max(10.0, h / 28.0), pad = size * 0.5, line = size * 1.3;
  cairo_select_font_face(cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  std::vector<std::string> text;
  double widest = 0;
  for (const auto& [name, value] : lines) {
    text.push_back(name + " " + value);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text.back().c_str(), &ext);
    widest = std::max(widest, ext.x_advance);
  }
  Box box{0, 0, std::min(w, int(std::ceil(widest + 2 * pad))),
          std::min(h, int(std::ceil(line * double(lines.size()) + 2 * pad)))};
  // the frame into Cairo's xRGB, the box drawn over it, the box's pixels back
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < box.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + ptrdiff_t{y} * stride);
    const uint8_t* in = frame.rgb.data() + size_t(y) * w * 3;
    for (int x = 0; x < box.width; ++x)
      row[x] = uint32_t{in[3 * x]} << 16 | uint32_t{in[3 * x + 1]} << 8 | in[3 * x + 2];
  }
  cairo_surface_mark_dirty(surface);
  cairo_rectangle(cr, 0, 0, box.width, box.height);
  cairo_clip(cr);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  for (size_t i = 0; i < text.size(); ++i) {
    cairo_move_to(cr, pad, pad + line * double(i) + size);
    cairo_show_text(cr, text[i].c_str());
  }
  cairo_surface_flush(surface);
  for (int y = 0; y < box.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + ptrdiff_t{y} * stride);
    uint8_t* out = frame.rgb.data() + size_t(y) * w * 3;
    for (int x = 0; x < box.width; ++x) {
      out[3 * x] = uint8_t(row[x] >> 16);
      out[3 * x + 1] = uint8_t(row[x] >> 8);
      out[3 * x + 2] = uint8_t(row[x]);
    }
  }
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  return box;
#endif
}

}  // namespace rlforge::io
