#include "rlforge/envs/classic_control/canvas.h"

#include <cmath>

#include "rlforge/core/error.h"

#ifdef RLFORGE_HAVE_CAIRO
#include <cairo.h>

namespace rlforge::envs {

Canvas::Canvas(int width, int height, Color background)
    : width_(width),
      height_(height),
      surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)),
      cr_(cairo_create(surface_)) {
  SetColor(background);
  cairo_paint(cr_);
  // y up: (x, y) lands on pixel row height - y, like Gymnasium's final vertical flip.
  cairo_matrix_t flip;
  cairo_matrix_init(&flip, 1, 0, 0, -1, 0, height);
  cairo_set_matrix(cr_, &flip);
}

Canvas::~Canvas() {
  cairo_destroy(cr_);
  cairo_surface_destroy(surface_);
}

void Canvas::SetColor(Color c) { cairo_set_source_rgb(cr_, c.r / 255.0, c.g / 255.0, c.b / 255.0); }

void Canvas::Polygon(const std::vector<Point>& points, Color color) {
  if (points.empty()) return;
  cairo_move_to(cr_, points[0].first, points[0].second);
  for (size_t i = 1; i < points.size(); ++i) cairo_line_to(cr_, points[i].first, points[i].second);
  cairo_close_path(cr_);
  SetColor(color);
  cairo_fill(cr_);
}

void Canvas::Circle(double x, double y, double radius, Color color) {
  cairo_new_sub_path(cr_);
  cairo_arc(cr_, x, y, radius, 0, 2 * M_PI);
  SetColor(color);
  cairo_fill(cr_);
}

void Canvas::Line(Point from, Point to, Color color, double width) {
  Polyline({from, to}, color, width);
}

void Canvas::Polyline(const std::vector<Point>& points, Color color, double width) {
  if (points.size() < 2) return;
  cairo_move_to(cr_, points[0].first, points[0].second);
  for (size_t i = 1; i < points.size(); ++i) cairo_line_to(cr_, points[i].first, points[i].second);
  SetColor(color);
  cairo_set_line_width(cr_, width);
  cairo_stroke(cr_);
}

env::Image Canvas::ToImage() const {
  env::Image image{height_, width_,
                   std::vector<uint8_t>(static_cast<size_t>(width_) * height_ * 3)};
  CopyRgb(surface_, width_, height_, image.rgb.data());
  return image;
}

void CopyRgb(cairo_surface_t* surface, int width, int height, uint8_t* rgb) {
  cairo_surface_flush(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    uint8_t* out = rgb + static_cast<size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      out[3 * x + 0] = static_cast<uint8_t>(row[x] >> 16);
      out[3 * x + 1] = static_cast<uint8_t>(row[x] >> 8);
      out[3 * x + 2] = static_cast<uint8_t>(row[x]);
    }
  }
}

}  // namespace rlforge::envs

#else  // built with RLFORGE_CAIRO=OFF: no frames; a Canvas cannot be made

namespace rlforge::envs {

Canvas::Canvas(int width, int height, Color background) {
  throw Error("render_mode: rgb_array needs Cairo, and this build has RLFORGE_CAIRO=OFF");
}
Canvas::~Canvas() = default;
void Canvas::SetColor(Color) {}
void Canvas::Polygon(const std::vector<Point>&, Color) {}
void Canvas::Circle(double, double, double, Color) {}
void Canvas::Line(Point, Point, Color, double) {}
void Canvas::Polyline(const std::vector<Point>&, Color, double) {}
env::Image Canvas::ToImage() const { return {}; }

}  // namespace rlforge::envs

#endif

namespace rlforge::envs {

Point Rotate(Point p, double angle) {
  const double c = std::cos(angle), s = std::sin(angle);
  return {p.first * c - p.second * s, p.first * s + p.second * c};
}

}  // namespace rlforge::envs
