#include "rlforge/io/image.h"

#include <cairo.h>

#include <string_view>

#include "rlforge/core/error.h"

namespace rlforge::io {
namespace {

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

void WritePng(const env::Image& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0) throw Error(path + ": cannot write an empty image");
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
  if (status != CAIRO_STATUS_SUCCESS) throw Error(path + ": PNG encoding failed");
  WriteFileAtomic(path, png);
}

}  // namespace rlforge::io
