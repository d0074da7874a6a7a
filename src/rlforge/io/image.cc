#include "rlforge/io/image.h"

#ifdef RLFORGE_HAVE_CAIRO
#include <cairo.h>
#endif

#include <algorithm>
#include <cmath>
#include <string_view>

#include "rlforge/core/error.h"

namespace rlforge::io {
#ifdef RLFORGE_HAVE_CAIRO
namespace {

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

std::string EncodePng(const env::Image& image) {
  if (image.width <= 0 || image.height <= 0) throw Error("cannot encode an empty image as PNG");
  cairo_surface_t* surface =
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, image.width, image.height);
  cairo_surface_flush(surface);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    const uint8_t* in = image.rgb.data() + static_cast<size_t>(y) * image.width * 3;
    for (int x = 0; x < image.width; ++x) {
      row[x] = (uint32_t{in[3 * x]} << 16) | (uint32_t{in[3 * x + 1]} << 8) | in[3 * x + 2];
    }
  }
  cairo_surface_mark_dirty(surface);
  std::string png;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface, AppendToString, &png);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) throw Error("PNG encoding failed");
  return png;
}
#else
std::string EncodePng(const env::Image&) {
  throw Error("PNG images need Cairo, and this build has RLFORGE_CAIRO=OFF");
}
#endif

void WritePng(const env::Image& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0) throw Error(path + ": cannot write an empty image");
  WriteFileAtomic(path, EncodePng(image));
}

namespace {

// the palette: 6 levels of red and blue, 7 of green (the eye is most sensitive to it)
constexpr int kReds = 6, kGreens = 7, kBlues = 6;
uint8_t PaletteIndex(const uint8_t* rgb) {
  const int r = (rgb[0] * (kReds - 1) + 127) / 255, g = (rgb[1] * (kGreens - 1) + 127) / 255;
  const int b = (rgb[2] * (kBlues - 1) + 127) / 255;
  return static_cast<uint8_t>((r * kGreens + g) * kBlues + b);
}

// LZW codes packed little-end first into 255-byte sub-blocks, as GIF stores image data.
class CodeWriter {
 public:
  explicit CodeWriter(std::string& out) : out_(out) {}
  void Put(int code, int width) {
    bits_ |= static_cast<uint32_t>(code) << count_;
    for (count_ += width; count_ >= 8; count_ -= 8, bits_ >>= 8)
      block_.push_back(static_cast<char>(bits_ & 0xFF));
    if (block_.size() >= 255) Emit(255);
  }
  void Finish() {
    if (count_ > 0) block_.push_back(static_cast<char>(bits_ & 0xFF));
    while (!block_.empty()) Emit(std::min<size_t>(block_.size(), 255));
    out_.push_back('\0');  // block terminator
  }

 private:
  void Emit(size_t n) {
    out_.push_back(static_cast<char>(n));
    out_.append(block_, 0, n);
    block_.erase(0, n);
  }
  std::string& out_;
  std::string block_;
  uint32_t bits_ = 0;
  int count_ = 0;
};

// GIF's variable-width LZW over 8-bit indices: codes 0-255 literal, 256 clear, 257 end; a code
// is written with the width the decoder will read it with (it adds entries one code later).
void Lzw(const std::vector<uint8_t>& indices, std::string& out) {
  constexpr int kClear = 256, kEnd = 257, kMaxCode = 4096, kSlots = 8192;
  std::vector<int32_t> keys(kSlots), codes(kSlots);  // open addressing: (prefix << 8 | byte)
  int next = kEnd + 1, width = 9;
  auto reset = [&] {
    std::fill(keys.begin(), keys.end(), -1);
    next = kEnd + 1, width = 9;
  };
  CodeWriter writer(out);
  out.push_back(8);  // minimum code size
  reset();
  writer.Put(kClear, width);
  int prefix = indices[0];
  for (size_t i = 1; i < indices.size(); ++i) {
    const int32_t key = prefix << 8 | indices[i];
    size_t slot = static_cast<size_t>(key * 2654435761u) % kSlots;
    while (keys[slot] != -1 && keys[slot] != key) slot = (slot + 1) % kSlots;
    if (keys[slot] == key) {
      prefix = codes[slot];
      continue;
    }
    writer.Put(prefix, width);
    if (next < kMaxCode) {
      keys[slot] = key, codes[slot] = next++;
      if (next > (1 << width) && width < 12) ++width;
    } else {
      writer.Put(kClear, width);
      reset();
    }
    prefix = indices[i];
  }
  writer.Put(prefix, width);
  writer.Put(kEnd, width);
  writer.Finish();
}

void Short(std::string& out, int v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}

}  // namespace

std::string EncodeGif(const std::vector<env::Image>& frames, double fps) {
  if (frames.empty() || frames[0].width <= 0 || frames[0].height <= 0)
    throw Error("cannot encode an empty GIF");
  const int width = frames[0].width, height = frames[0].height;
  std::string out = "GIF89a";
  Short(out, width);
  Short(out, height);
  out += {static_cast<char>(0xF7), 0, 0};  // global colour table of 256 entries
  for (int i = 0; i < 256; ++i) {
    const int r = i / (kGreens * kBlues), g = i / kBlues % kGreens, b = i % kBlues;
    const bool used = r < kReds;
    out.push_back(static_cast<char>(used ? r * 255 / (kReds - 1) : 0));
    out.push_back(static_cast<char>(used ? g * 255 / (kGreens - 1) : 0));
    out.push_back(static_cast<char>(used ? b * 255 / (kBlues - 1) : 0));
  }
  out += std::string("\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00", 19);  // loop forever
  const int delay = static_cast<int>(std::lround(100.0 / std::max(fps, 1.0)));
  std::vector<uint8_t> indices(static_cast<size_t>(width) * height);
  for (const env::Image& frame : frames) {
    if (frame.width != width || frame.height != height)
      throw Error("GIF frames differ in size: " + std::to_string(frame.width) + "x" +
                  std::to_string(frame.height) + " after " + std::to_string(width) + "x" +
                  std::to_string(height));
    out += {'\x21', '\xF9', '\x04', '\x00'};  // graphic control: delay, no transparency
    Short(out, delay);
    out += {'\x00', '\x00'};
    out.push_back('\x2C');  // image descriptor: the whole canvas, global colours
    Short(out, 0);
    Short(out, 0);
    Short(out, width);
    Short(out, height);
    out.push_back('\x00');
    for (size_t p = 0; p < indices.size(); ++p) indices[p] = PaletteIndex(&frame.rgb[3 * p]);
    Lzw(indices, out);
  }
  out.push_back('\x3B');  // trailer
  return out;
}

env::Image Downscale(const env::Image& image, int max_width) {
  const int factor = (image.width + max_width - 1) / std::max(max_width, 1);
  if (factor <= 1) return image;
  env::Image out;
  out.width = image.width / factor, out.height = image.height / factor;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int dy = 0; dy < factor; ++dy) {
          for (int dx = 0; dx < factor; ++dx) {
            sum +=
                image.rgb[(static_cast<size_t>(y * factor + dy) * image.width + x * factor + dx) *
                              3 +
                          c];
          }
        }
        out.rgb[(static_cast<size_t>(y) * out.width + x) * 3 + c] =
            static_cast<uint8_t>(sum / (factor * factor));
      }
    }
  }
  return out;
}

}  // namespace rlforge::io
