// Contact bookkeeping shared by the Box2D bodies-with-legs envs (LunarLander, BipedalWalker): the
// hull touching anything ends the game; each foot reports whether it is on the ground.
#pragma once

#include <box2d/box2d.h>

#include <array>

namespace rlforge::envs::box2d {

// A dynamic body with one polygon fixture that collides only with the ground (category 1).
inline b2Body* CreateGroundBody(b2World& world, double x, double y, double angle,
                                const b2PolygonShape& shape, float density, float friction,
                                uint16 category) {
  b2BodyDef def;
  def.type = b2_dynamicBody;
  def.position.Set(static_cast<float>(x), static_cast<float>(y));
  def.angle = static_cast<float>(angle);
  b2Body* body = world.CreateBody(&def);
  b2FixtureDef f;
  f.shape = &shape;
  f.density = density;
  f.friction = friction;
  f.restitution = 0.0f;
  f.filter.categoryBits = category;
  f.filter.maskBits = 0x001;
  body->CreateFixture(&f);
  return body;
}

class GroundContacts final : public b2ContactListener {
 public:
  // Watches these bodies and forgets earlier contacts (a new world).
  void Watch(const b2Body* hull, std::array<const b2Body*, 2> feet) {
    hull_ = hull;
    feet_ = feet;
    game_over = false;
    on_ground = {false, false};
  }

  bool game_over = false;           // the hull touched the ground
  std::array<bool, 2> on_ground{};  // each foot touching the ground

 private:
  void BeginContact(b2Contact* c) override { Touch(c, true); }
  void EndContact(b2Contact* c) override { Touch(c, false); }
  void Touch(b2Contact* c, bool begin) {
    const b2Body* a = c->GetFixtureA()->GetBody();
    const b2Body* b = c->GetFixtureB()->GetBody();
    if (begin && (a == hull_ || b == hull_)) game_over = true;
    for (int k = 0; k < 2; ++k)
      if (a == feet_[k] || b == feet_[k]) on_ground[k] = begin;
  }

  const b2Body* hull_ = nullptr;
  std::array<const b2Body*, 2> feet_{};
};

}  // namespace rlforge::envs::box2d
