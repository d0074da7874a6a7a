// Images in memory and in files: PNG (Cairo), animated GIF (rlforge's own LZW encoder, for
// TensorBoard, which shows no MP4), and box-filter downscaling.
#pragma once

#include <string>
#include <vector>

#include "rlforge/env/env.h"

namespace rlforge::io {

// An RGB image as PNG bytes.
std::string EncodePng(const env::Image& image);
// Writes an RGB image as PNG, atomically (temp file + fsync + rename).
void WritePng(const env::Image& image, const std::string& path);

// Frames of one size as a looping GIF89a at `fps` (delays in 1/100 s), each pixel mapped to the
// nearest colour of a fixed 6 x 7 x 6 RGB palette (no dithering: frames of simple renderings).
std::string EncodeGif(const std::vector<env::Image>& frames, double fps);

// The image shrunk by an integer factor (averaging factor x factor blocks) so that its width is
// at most max_width; an image already narrow enough is returned as is.
env::Image Downscale(const env::Image& image, int max_width);

}  // namespace rlforge::io
