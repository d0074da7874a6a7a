// A y-up drawing surface (Cairo) for the classic-control renderers, which are written like
// Gymnasium's pygame code: draw with y pointing up, then the image is flipped on output.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "rlforge/env/env.h"

typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace rlforge::envs {

struct Color {
  uint8_t r, g, b;
};

using Point = std::pair<double, double>;

class Canvas {
 public:
  Canvas(int width, int height, Color background = {255, 255, 255});
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  void Polygon(const std::vector<Point>& points, Color color);
  void Circle(double x, double y, double radius, Color color);
  void Line(Point from, Point to, Color color, double width = 1.0);
  void Polyline(const std::vector<Point>& points, Color color, double width = 1.0);

  env::Image ToImage() const;

 private:
  void SetColor(Color c);
  int width_, height_;
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

// Copies a Cairo RGB24 image surface into `rgb` (height x width x 3 bytes).
void CopyRgb(cairo_surface_t* surface, int width, int height, uint8_t* rgb);

// (x, y) rotated by `angle` radians counter-clockwise (pygame's Vector2.rotate_rad).
Point Rotate(Point p, double angle);

}  // namespace rlforge::envs
