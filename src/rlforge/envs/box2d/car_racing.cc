// CarRacing-v3 as gymnasium/envs/box2d/car_racing.py, on Debian's Box2D 2.4.1. The track is
// Gymnasium's for a seed (same RNG draws and libm calls); the car's physics follows its formulas
// but Box2D versions differ, so trajectories do not match bit for bit.
//
// Road tiles are not Box2D sensor bodies here: each step tests the car's fixtures against the
// tiles with Box2D's own overlap test (what a sensor contact does), at the same point of the step
// (after the car's forces, before the world steps), so tile visits, their rewards and the
// road-or-grass friction happen as in Gymnasium, and all of it lives in get_state.
//
// The observation is Gymnasium's state_pixels frame: the 1000x800 window (car at the lower
// middle, heading up, zooming in over the first second, road, grass, car, the indicator strip
// and the score) drawn by Cairo straight at 96x96, where Gymnasium draws it big and smooth-scales
// it. Skid marks (only in render()'s frame in Gymnasium) are left out.
#include <box2d/box2d.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "rlforge/core/error.h"
#include "rlforge/envs/box2d/box2d_envs.h"
#include "rlforge/envs/box2d/car_dynamics.h"
#include "rlforge/envs/box2d/car_racing_track.h"
#include "rlforge/envs/box2d/episode_rng.h"
#include "rlforge/envs/classic_control/canvas.h"

namespace rlforge::envs::box2d {
namespace {

constexpr int kStateW = 96, kStateH = 96;
constexpr int kVideoW = 600, kVideoH = 400;
constexpr double kWindowW = 1000, kWindowH = 800;
constexpr double kFps = 50;
constexpr double kZoom = 2.7;
constexpr double kGrassDim = kPlayfield / 20.0;
constexpr double kLapReward = 1000.0;  // shared by the tiles
constexpr double kFrameCost = 0.1;     // per step
constexpr double kOffFieldReward = -100;

using Rgb = std::array<double, 3>;   // 0..255, fractional under domain randomization
using Pose = std::array<double, 6>;  // x, y, angle, vx, vy, angular velocity

// Tile flags in the state: visited, plain (touched: it loses its stripe shade), and which of the
// car's parts touch it now (wheels 0-3, hull).
constexpr int kVisited = 1, kPlain = 2, kTouchShift = 2, kHullBit = 1 << 4;

// [episode RNG (10), hull pose (6), 4 wheels x (pose (6), gas, brake, steer, phase, omega),
//  total reward, previous total, visited tiles, time, new lap, then per tile: flags]
constexpr size_t kHeaderSize = kRngWords + 6 + 4 * 11 + 5;

struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};

class CarRacing final : public env::Env {
 public:
  CarRacing(bool continuous, bool domain_randomize, double lap_complete_percent, bool draw)
      : continuous_(continuous),
        domain_randomize_(domain_randomize),
        lap_complete_percent_(lap_complete_percent),
        draw_(draw),
        obs_space_(Space::Box(0, 255, {kStateH, kStateW, 3}, DType::kUInt8)),
        act_space_(continuous ? Space::Box({-1, 0, 0}, {1, 1, 1}, {3}) : Space::Discrete(5)),
        surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, kStateW, kStateH)),
        cr_(cairo_create(surface_.get())) {
    if (!(lap_complete_percent >= 0 && lap_complete_percent <= 1))
      throw Error("CarRacing-v3: kwarg 'lap_complete_percent' must be in [0, 1], got " +
                  std::to_string(lap_complete_percent));
  }

  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }

  void Reset(std::optional<uint64_t> seed, void* obs) override {
    SeedRng(seed);
    NewEpisode(np_random_);
    info_.Clear();
    Advance(/*acted=*/false, obs);  // Gymnasium's reset returns a step without an action
  }

  env::StepResult Step(const Action& action, void* obs) override {
    CheckAction(action);
    info_.Clear();
    if (continuous_) {
      car_->Steer(-double{action.continuous[0]});
      car_->Gas(action.continuous[1]);
      car_->Brake(action.continuous[2]);
    } else {
      const int64_t a = action.discrete[0];  // noop, steer -0.6, steer +0.6, gas, brake
      car_->Steer(-0.6 * (a == 1) + 0.6 * (a == 2));
      car_->Gas(0.2 * (a == 3));
      car_->Brake(0.8 * (a == 4));
    }
    return Advance(/*acted=*/true, obs);
  }

  void Observe(void* obs) const override { DrawObservation(static_cast<uint8_t*>(obs)); }
  env::Image Render() const override;

  std::vector<double> GetState() const override;
  void SetState(std::span<const double> s) override;
  // Box2D keeps joint impulses (warm starts) that the state leaves out
  double replay_tolerance() const override { return 0.05; }

 private:
  // Colours (domain randomization draws them first), the track, a fresh world and the car.
  void NewEpisode(Rng& rng) {
    episode_rng_ = RngWords(rng);
    if (domain_randomize_) {
      for (double& c : road_color_) c = rng.Uniform(0, 210);
      for (double& c : bg_color_) c = rng.Uniform(0, 210);
      grass_color_ = bg_color_;
      grass_color_[static_cast<size_t>(rng.Integers(3))] += 20;
    }
    track_ = GenerateTrack(rng);
    tiles_.clear();
    for (const Quad& q : track_.tiles) {
      TileShape t;
      b2Vec2 v[4];
      for (int k = 0; k < 4; ++k) v[k].Set(float(q[k][0]), float(q[k][1]));
      t.shape.Set(v, 4);
      t.shape.ComputeAABB(&t.box, b2Transform(b2Vec2(0, 0), b2Rot(0)), 0);
      tiles_.push_back(t);
    }
    tile_flags_.assign(track_.tiles.size(), 0);
    world_ = std::make_unique<b2World>(b2Vec2(0, 0));
    const TrackPoint& start = track_.points.front();
    car_ = std::make_unique<Car>(*world_, start.beta, start.x, start.y);
    reward_ = prev_reward_ = 0;
    visited_ = 0;
    t_ = 0;
    new_lap_ = false;
  }

  env::StepResult Advance(bool acted, void* obs) {
    car_->Step(1.0 / kFps);
    TouchTiles();
    world_->Step(float(1.0 / kFps), 6 * 30, 2 * 30);
    t_ += 1.0 / kFps;
    if (draw_) DrawObservation(static_cast<uint8_t*>(obs));
    if (!acted) return {};
    reward_ -= kFrameCost;  // the score shown in the frame is the one before this step
    env::StepResult r{reward_ - prev_reward_, false, false};
    prev_reward_ = reward_;
    if (visited_ == tiles_.size() || new_lap_) {
      r.terminated = true;
      info_.Set("lap_finished", 1);
    }
    const b2Vec2 p = car_->hull()->GetPosition();
    if (std::abs(p.x) > kPlayfield || std::abs(p.y) > kPlayfield) {
      r.terminated = true;
      info_.Set("lap_finished", 0);
      r.reward = kOffFieldReward;
    }
    return r;
  }

  // What Box2D's sensor contacts do at the start of world.Step: begin/end touching events between
  // the car's fixtures and the tiles, at the positions the last step left.
  void TouchTiles() {
    b2AABB car_box = Box(car_->hull());
    for (const Wheel& w : car_->wheels()) car_box.Combine(Box(w.body));
    int on_road = 0;
    for (size_t i = 0; i < tiles_.size(); ++i) {
      const int now = b2TestOverlap(car_box, tiles_[i].box) ? Touching(tiles_[i].shape) : 0;
      const int before = tile_flags_[i] >> kTouchShift;
      on_road |= now;
      if (now == before) continue;
      int& flags = tile_flags_[i];
      flags |= kPlain;
      for (int k = 0; k < 4; ++k) {
        if (((now ^ before) >> k & 1) == 0) continue;
        // a wheel touching or leaving the first tile after most of the lap completes the lap
        if (i == 0 && double(visited_) / double(tiles_.size()) > lap_complete_percent_)
          new_lap_ = true;
        if ((now >> k & 1) && !(flags & kVisited)) {
          flags |= kVisited;
          reward_ += kLapReward / double(tiles_.size());
          visited_ += 1;
        }
      }
      flags = (flags & (kVisited | kPlain)) | now << kTouchShift;
    }
    for (int k = 0; k < 4; ++k) car_->wheels()[k].on_road = on_road >> k & 1;
  }

  static b2AABB Box(const b2Body* body) {
    b2AABB box = body->GetFixtureList()->GetAABB(0);
    for (const b2Fixture* f = body->GetFixtureList(); f; f = f->GetNext())
      box.Combine(f->GetAABB(0));
    return box;
  }

  // Bits of the wheels (0-3) and the hull (4) overlapping a tile.
  int Touching(const b2PolygonShape& tile) const {
    const b2Transform identity(b2Vec2(0, 0), b2Rot(0));
    int mask = 0;
    for (int k = 0; k < 4; ++k) {
      const b2Body* w = car_->wheels()[k].body;
      if (b2TestOverlap(&tile, 0, w->GetFixtureList()->GetShape(), 0, identity, w->GetTransform()))
        mask |= 1 << k;
    }
    const b2Body* hull = car_->hull();
    for (const b2Fixture* f = hull->GetFixtureList(); f; f = f->GetNext()) {
      if (b2TestOverlap(&tile, 0, f->GetShape(), 0, identity, hull->GetTransform())) {
        mask |= kHullBit;
        break;
      }
    }
    return mask;
  }

  void DrawObservation(uint8_t* obs) const {
    Draw(cr_.get(), kStateW, kStateH);
    CopyRgb(surface_.get(), kStateW, kStateH, obs);
  }
  void Draw(cairo_t* cr, int width, int height) const;
  void DrawRoad(cairo_t* cr, double view_radius) const;
  void DrawCar(cairo_t* cr) const;
  void DrawIndicators(cairo_t* cr) const;

  bool continuous_, domain_randomize_;
  double lap_complete_percent_;
  bool draw_;  // draw the observation (false: left black, to time the physics alone)
  Space obs_space_, act_space_;
  Rgb road_color_{102, 102, 102}, bg_color_{102, 204, 102}, grass_color_{102, 230, 102};

  struct TileShape {
    b2PolygonShape shape;  // the tile's quad, in world coordinates
    b2AABB box;            // its bounding box
  };
  RngWordArray episode_rng_{};  // np_random at the episode's start: colours and track
  Track track_;
  std::vector<TileShape> tiles_;  // (N)
  std::vector<int> tile_flags_;   // kVisited | kPlain | touching parts << kTouchShift   (N)
  std::unique_ptr<b2World> world_;
  std::unique_ptr<Car> car_;
  double reward_ = 0, prev_reward_ = 0;  // running score; its value at the last step
  size_t visited_ = 0;                   // tiles visited
  double t_ = 0;                         // seconds since reset
  bool new_lap_ = false;

  std::unique_ptr<cairo_surface_t, CairoDeleter> surface_;  // the observation frame (96x96)
  std::unique_ptr<cairo_t, CairoDeleter> cr_;
};

// ---- state ----

Pose PoseOf(const b2Body* b) {
  const b2Vec2 p = b->GetPosition(), v = b->GetLinearVelocity();
  return {p.x, p.y, b->GetAngle(), v.x, v.y, b->GetAngularVelocity()};
}

void Place(b2Body* b, const double* p) {
  b->SetTransform(b2Vec2(float(p[0]), float(p[1])), float(p[2]));
  b->SetLinearVelocity(b2Vec2(float(p[3]), float(p[4])));
  b->SetAngularVelocity(float(p[5]));
  b->SetAwake(true);
}

std::vector<double> CarRacing::GetState() const {
  std::vector<double> s(episode_rng_.begin(), episode_rng_.end());
  const Pose hull = PoseOf(car_->hull());
  s.insert(s.end(), hull.begin(), hull.end());
  for (const Wheel& w : car_->wheels()) {
    const Pose p = PoseOf(w.body);
    s.insert(s.end(), p.begin(), p.end());
    s.insert(s.end(), {w.gas, w.brake, w.steer, w.phase, w.omega});
  }
  s.insert(s.end(), {reward_, prev_reward_, double(visited_), t_, double(new_lap_)});
  s.insert(s.end(), tile_flags_.begin(), tile_flags_.end());
  return s;
}

// Rebuilds the episode's colours and track from its RNG if they are not the current ones, then
// places the car; the env's own RNG is left as it is.
void CarRacing::SetState(std::span<const double> s) {
  const std::string& id = spec().id;
  if (s.size() < kHeaderSize)
    throw Error(id + ": state must hold at least " + std::to_string(kHeaderSize) + " values, got " +
                std::to_string(s.size()));
  for (size_t i = 0; i < s.size(); ++i)
    if (!std::isfinite(s[i])) throw Error(id + ": state[" + std::to_string(i) + "] is not finite");
  RngWordArray words;
  std::copy_n(s.begin(), kRngWords, words.begin());
  if (!world_ || words != episode_rng_) {
    Rng rng = RngFromWords(words, id);
    NewEpisode(rng);
  }
  if (s.size() != kHeaderSize + tiles_.size())
    throw Error(id + ": state must hold " + std::to_string(kHeaderSize + tiles_.size()) +
                " values for this track (" + std::to_string(tiles_.size()) + " tiles), got " +
                std::to_string(s.size()));
  const double* p = s.data() + kRngWords;
  Place(car_->hull(), p);
  p += 6;
  for (Wheel& w : car_->wheels()) {
    Place(w.body, p);
    w.gas = p[6], w.brake = p[7], w.steer = p[8], w.phase = p[9], w.omega = p[10];
    p += 11;
  }
  reward_ = p[0], prev_reward_ = p[1], visited_ = size_t(p[2]), t_ = p[3], new_lap_ = p[4] != 0;
  p += 5;
  int on_road = 0;
  for (size_t i = 0; i < tiles_.size(); ++i) {
    if (p[i] < 0 || p[i] > 127 || p[i] != std::floor(p[i]))
      throw Error(id + ": tile flags must be integers in [0, 127], got " + std::to_string(p[i]));
    tile_flags_[i] = int(p[i]);
    on_road |= tile_flags_[i] >> kTouchShift;
  }
  for (int k = 0; k < 4; ++k) car_->wheels()[k].on_road = on_road >> k & 1;
}

// ---- drawing ----

void SetColor(cairo_t* cr, const Rgb& c) {  // Gymnasium draws int(c) of float colours
  cairo_set_source_rgb(cr, int(c[0]) / 255.0, int(c[1]) / 255.0, int(c[2]) / 255.0);
}

void AddQuad(cairo_t* cr, const Quad& q) {
  cairo_move_to(cr, q[0][0], q[0][1]);
  for (int k = 1; k < 4; ++k) cairo_line_to(cr, q[k][0], q[k][1]);
  cairo_close_path(cr);
}

void FillQuad(cairo_t* cr, const Quad& q, const Rgb& color) {
  AddQuad(cr, q);
  SetColor(cr, color);
  cairo_fill(cr);
}

void CarRacing::Draw(cairo_t* cr, int width, int height) const {
  cairo_identity_matrix(cr);
  cairo_scale(cr, width / kWindowW, height / kWindowH);  // the window, scaled to the frame
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_paint(cr);
  // world -> window: y up, the car at (W/2, H/4) from the bottom, heading up; zooming in from
  // far away over the first second
  const double zoom =
      0.1 * kTrackScale * std::max(1 - t_, 0.0) + kZoom * kTrackScale * std::min(t_, 1.0);
  const b2Vec2 c = car_->hull()->GetPosition();
  cairo_save(cr);
  cairo_translate(cr, 0, kWindowH);
  cairo_scale(cr, 1, -1);
  cairo_translate(cr, kWindowW / 2, kWindowH / 4);
  cairo_scale(cr, zoom, zoom);
  cairo_rotate(cr, -car_->hull()->GetAngle());
  cairo_translate(cr, -c.x, -c.y);
  // farthest window corner from the car, in world units, plus the largest shape's diagonal
  const double view_radius = std::hypot(kWindowW / 2, kWindowH * 3 / 4) / zoom + 2 * kGrassDim;
  DrawRoad(cr, view_radius);
  DrawCar(cr);
  cairo_restore(cr);
  DrawIndicators(cr);
}

void CarRacing::DrawRoad(cairo_t* cr, double view_radius) const {
  const b2Vec2 c = car_->hull()->GetPosition();
  const auto visible = [&](double x, double y) {
    return std::hypot(x - c.x, y - c.y) < view_radius;
  };
  FillQuad(cr,
           {{{kPlayfield, kPlayfield},
             {kPlayfield, -kPlayfield},
             {-kPlayfield, -kPlayfield},
             {-kPlayfield, kPlayfield}}},
           bg_color_);
  for (int x = -20; x < 20; x += 2) {
    for (int y = -20; y < 20; y += 2) {
      const double x0 = kGrassDim * x, y0 = kGrassDim * y;
      if (!visible(x0, y0)) continue;
      AddQuad(cr, {{{x0 + kGrassDim, y0},
                    {x0, y0},
                    {x0, y0 + kGrassDim},
                    {x0 + kGrassDim, y0 + kGrassDim}}});
    }
  }
  SetColor(cr, grass_color_);
  cairo_fill(cr);
  // the road in one path (no anti-aliasing seams between tiles), then the striped tiles on it
  const std::vector<Quad>& tiles = track_.tiles;
  const auto shown = [&](size_t i) { return visible(tiles[i][0][0], tiles[i][0][1]); };
  for (size_t i = 0; i < tiles.size(); ++i)
    if (shown(i)) AddQuad(cr, tiles[i]);
  SetColor(cr, road_color_);
  cairo_fill(cr);
  size_t next_kerb = 0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const double shade = 0.01 * double(i % 3) * 255;  // until a wheel or the hull touches it
    if (shade > 0 && !(tile_flags_[i] & kPlain) && shown(i))
      FillQuad(cr, tiles[i],
               {road_color_[0] + shade, road_color_[1] + shade, road_color_[2] + shade});
    for (; next_kerb < track_.kerbs.size() && track_.kerbs[next_kerb].tile == int(i); ++next_kerb) {
      const Kerb& k = track_.kerbs[next_kerb];
      if (shown(i)) FillQuad(cr, k.quad, k.white ? Rgb{255, 255, 255} : Rgb{255, 0, 0});
    }
  }
}

void CarRacing::DrawCar(cairo_t* cr) const {
  const auto fill_body = [&](const b2Body* body, const Rgb& color) {
    for (const b2Fixture* f = body->GetFixtureList(); f; f = f->GetNext()) {
      const auto* shape = static_cast<const b2PolygonShape*>(f->GetShape());
      for (int v = 0; v < shape->m_count; ++v) {
        const b2Vec2 p = body->GetWorldPoint(shape->m_vertices[v]);
        (v == 0 ? cairo_move_to : cairo_line_to)(cr, p.x, p.y);
      }
      cairo_close_path(cr);
      SetColor(cr, color);
      cairo_fill(cr);
    }
  };
  for (const Wheel& w : car_->wheels()) {
    fill_body(w.body, {0, 0, 0});
    // a lighter band turning with the wheel's phase, seen from above
    double c1 = std::cos(w.phase), c2 = std::cos(w.phase + 1.2);
    const double s1 = std::sin(w.phase), s2 = std::sin(w.phase + 1.2);
    if (s1 > 0 && s2 > 0) continue;
    if (s1 > 0) c1 = c1 > 0 ? 1 : (c1 < 0 ? -1 : 0);
    if (s2 > 0) c2 = c2 > 0 ? 1 : (c2 < 0 ? -1 : 0);
    const double hw = kWheelW * kCarSize, r = kWheelR * kCarSize;
    Quad band = {{{-hw, r * c1}, {hw, r * c1}, {hw, r * c2}, {-hw, r * c2}}};
    for (auto& [x, y] : band) {
      const b2Vec2 p = w.body->GetWorldPoint(b2Vec2(float(x), float(y)));
      x = p.x, y = p.y;
    }
    FillQuad(cr, band, {77, 77, 77});
  }
  fill_body(car_->hull(), {204, 0, 0});
}

// The strip at the bottom: speed, the four wheels' spin (ABS sensors), steering and yaw rate,
// and the score, in window pixels (y down).
void CarRacing::DrawIndicators(cairo_t* cr) const {
  const double W = kWindowW, H = kWindowH, s = W / 40.0, h = H / 40.0;
  FillQuad(cr, {{{W, H}, {W, H - 5 * h}, {0, H - 5 * h}, {0, H}}}, {0, 0, 0});
  const auto vertical = [&](double place, double val, const Rgb& color) {
    if (std::abs(val) <= 1e-4) return;
    FillQuad(cr,
             {{{place * s, H - (h + h * val)},
               {(place + 1) * s, H - (h + h * val)},
               {(place + 1) * s, H - h},
               {place * s, H - h}}},
             color);
  };
  const auto horizontal = [&](double place, double val, const Rgb& color) {
    if (std::abs(val) <= 1e-4) return;
    FillQuad(cr,
             {{{place * s, H - 4 * h},
               {(place + val) * s, H - 4 * h},
               {(place + val) * s, H - 2 * h},
               {place * s, H - 2 * h}}},
             color);
  };
  const b2Body* hull = car_->hull();
  const auto& wheels = car_->wheels();
  const double speed = hull->GetLinearVelocity().Length();
  vertical(5, 0.02 * speed, {255, 255, 255});
  for (int k = 0; k < 4; ++k)
    vertical(7 + k, 0.01 * wheels[k].omega, k < 2 ? Rgb{0, 0, 255} : Rgb{51, 0, 255});
  horizontal(20, -10.0 * wheels[0].joint->GetJointAngle(), {0, 255, 0});
  horizontal(30, -0.8 * hull->GetAngularVelocity(), {255, 0, 0});

  char score[32];
  std::snprintf(score, sizeof score, "%04d", static_cast<int>(reward_));
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 42);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, score, &ext);
  cairo_move_to(cr, 60 - ext.width / 2 - ext.x_bearing,
                H - H * 2.5 / 40.0 - ext.height / 2 - ext.y_bearing);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_show_text(cr, score);
}

env::Image CarRacing::Render() const {
  std::unique_ptr<cairo_surface_t, CairoDeleter> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, kVideoW, kVideoH));
  std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
  Draw(cr.get(), kVideoW, kVideoH);
  env::Image image{kVideoH, kVideoW, std::vector<uint8_t>(size_t{kVideoW} * kVideoH * 3)};
  CopyRgb(surface.get(), kVideoW, kVideoH, image.rgb.data());
  return image;
}

}  // namespace

std::unique_ptr<env::Env> MakeCarRacing(const env::KwargReader& k) {
  return std::make_unique<CarRacing>(k.Bool("continuous"), k.Bool("domain_randomize"),
                                     k.Double("lap_complete_percent"), k.Bool("draw_observation"));
}

}  // namespace rlforge::envs::box2d
