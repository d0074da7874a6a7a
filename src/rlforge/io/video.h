// Videos from env frames on the FFmpeg libraries: H.264 in MP4 (default) or VP9 in WebM, chosen
// by the file's extension, written to a temporary file and renamed into place when closed. An
// optional overlay draws text lines (step, reward, return, any metric) in a corner box with Cairo.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlforge/env/env.h"

namespace rlforge::io {

// An encoder and muxer writing one file (FFmpeg's, from librlforge_video.so).
class VideoEncoder {
 public:
  virtual ~VideoEncoder() = default;
  virtual void Write(const env::Image& frame) = 0;  // frames of the size it was opened with
  virtual void Finish() = 0;                        // flush, trailer, file closed
};

struct VideoInfo;

// What librlforge_video.so provides (its extern "C" rlforge_video_backend() returns it).
struct VideoBackend {
  // mp4: H.264 in MP4, else VP9 in WebM; frames are width x height RGB.
  std::unique_ptr<VideoEncoder> (*open)(const std::string& path, bool mp4, int width, int height,
                                        int fps);
  VideoInfo (*decode)(const std::string& path);
};

class VideoWriter {
 public:
  // `path` ends in .mp4 (H.264) or .webm (VP9); frames are width x height RGB (odd sizes are
  // scaled to the next even size, which YUV 4:2:0 needs).
  VideoWriter(const std::string& path, int width, int height, int fps = 30);
  ~VideoWriter();  // closes if Close() was not called (errors then are swallowed)
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void Write(const env::Image& frame);  // throws if the size differs from the first frame's
  void Close();                         // flushes the encoder, writes the trailer, renames
  int frames() const { return frames_; }

 private:
  std::unique_ptr<VideoEncoder> encoder_;  // FFmpeg's muxer, encoder, scaler and buffers
  std::string path_, temp_path_;           // the final file and the one written until Close()
  int width_, height_;                     // frame size
  int frames_ = 0;                         // frames written
  bool closed_ = false;
};

// What FFmpeg's decoder finds in a video file: every frame decoded and counted.
struct VideoInfo {
  std::string codec;  // e.g. "h264", "vp9"
  int width = 0, height = 0;
  int frames = 0;
  double fps = 0;
};
VideoInfo DecodeVideo(const std::string& path);

// A pixel rectangle.
struct Box {
  int x = 0, y = 0, width = 0, height = 0;
  bool Contains(int px, int py) const {
    return px >= x && px < x + width && py >= y && py < y + height;
  }
};

// Draws "name value" lines in a translucent box at the frame's top-left corner; returns the box.
Box DrawOverlay(env::Image& frame, const std::vector<std::pair<std::string, std::string>>& lines);

}  // namespace rlforge::io
