#include "rlforge/io/video.h"

#include <cairo.h>
#include <fcntl.h>
#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "rlforge/core/error.h"

namespace rlforge::io {
namespace {

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

void Check(int code, const std::string& what) {
  if (code < 0) throw Error("video: " + what + ": " + AvError(code));
}

int Even(int n) { return n + (n & 1); }

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// The FFmpeg objects of one output file.
struct VideoWriter::Codec {
  AVFormatContext* format = nullptr;
  AVCodecContext* encoder = nullptr;
  AVStream* stream = nullptr;
  SwsContext* scaler = nullptr;  // RGB24 -> YUV420P (and to an even size)
  AVFrame* frame = nullptr;      // the YUV frame handed to the encoder
  AVPacket* packet = nullptr;
  int width = 0, height = 0;  // input frame size

  ~Codec() {
    av_packet_free(&packet);
    av_frame_free(&frame);
    sws_freeContext(scaler);
    avcodec_free_context(&encoder);
    if (format) {
      if (format->pb) avio_closep(&format->pb);
      avformat_free_context(format);
    }
  }

  // Sends a frame (nullptr: flush) and writes every packet the encoder has ready.
  void Encode(AVFrame* f) {
    Check(avcodec_send_frame(encoder, f), "encoding a frame");
    while (true) {
      const int got = avcodec_receive_packet(encoder, packet);
      if (got == AVERROR(EAGAIN) || got == AVERROR_EOF) return;
      Check(got, "encoding a frame");
      if (packet->duration == 0) packet->duration = 1;  // one frame: MP4 keeps the last one
      av_packet_rescale_ts(packet, encoder->time_base, stream->time_base);
      packet->stream_index = stream->index;
      Check(av_interleaved_write_frame(format, packet), "writing a packet");
    }
  }
};

VideoWriter::VideoWriter(const std::string& path, int width, int height, int fps)
    : codec_(std::make_unique<Codec>()), path_(path), temp_path_(path + ".part") {
  const bool mp4 = EndsWith(path, ".mp4"), webm = EndsWith(path, ".webm");
  if (!mp4 && !webm) throw Error("video: the path must end in .mp4 or .webm, got '" + path + "'");
  if (width <= 0 || height <= 0 || fps <= 0)
    throw Error("video: expected a positive frame size and fps, got " + std::to_string(width) +
                "x" + std::to_string(height) + " at " + std::to_string(fps));
  av_log_set_level(AV_LOG_ERROR);  // no encoder banners on stderr
  Codec& c = *codec_;
  c.width = width;
  c.height = height;
  Check(
      avformat_alloc_output_context2(&c.format, nullptr, mp4 ? "mp4" : "webm", temp_path_.c_str()),
      "choosing the container");
  const AVCodec* codec = avcodec_find_encoder_by_name(mp4 ? "libx264" : "libvpx-vp9");
  if (!codec) codec = avcodec_find_encoder(mp4 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP9);
  if (!codec)
    throw Error(std::string("video: FFmpeg has no ") + (mp4 ? "H.264" : "VP9") + " encoder");
  c.encoder = avcodec_alloc_context3(codec);
  c.encoder->width = Even(width);
  c.encoder->height = Even(height);
  c.encoder->time_base = AVRational{1, fps};
  c.encoder->framerate = AVRational{fps, 1};
  c.encoder->pix_fmt = AV_PIX_FMT_YUV420P;
  c.encoder->gop_size = 2 * fps;
  if (c.format->oformat->flags & AVFMT_GLOBALHEADER)
    c.encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (mp4) {
    av_opt_set(c.encoder->priv_data, "preset", "veryfast", 0);
    av_opt_set(c.encoder->priv_data, "crf", "23", 0);
  } else {
    c.encoder->bit_rate = 0;  // constant quality
    av_opt_set(c.encoder->priv_data, "deadline", "realtime", 0);
    av_opt_set(c.encoder->priv_data, "cpu-used", "8", 0);
    av_opt_set(c.encoder->priv_data, "crf", "32", 0);
  }
  Check(avcodec_open2(c.encoder, codec, nullptr), "opening the encoder");
  c.stream = avformat_new_stream(c.format, nullptr);
  Check(avcodec_parameters_from_context(c.stream->codecpar, c.encoder), "stream parameters");
  c.stream->time_base = c.encoder->time_base;
  Check(avio_open(&c.format->pb, temp_path_.c_str(), AVIO_FLAG_WRITE), "opening " + temp_path_);
  AVDictionary* options = nullptr;
  if (mp4) av_dict_set(&options, "movflags", "+faststart", 0);  // playable while loading
  const int header = avformat_write_header(c.format, &options);
  av_dict_free(&options);
  Check(header, "writing the header");
  c.scaler = sws_getContext(width, height, AV_PIX_FMT_RGB24, c.encoder->width, c.encoder->height,
                            AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  c.frame = av_frame_alloc();
  c.frame->format = AV_PIX_FMT_YUV420P;
  c.frame->width = c.encoder->width;
  c.frame->height = c.encoder->height;
  Check(av_frame_get_buffer(c.frame, 0), "allocating a frame");
  c.packet = av_packet_alloc();
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
  Codec& c = *codec_;
  if (image.width != c.width || image.height != c.height)
    throw Error("video: frame " + std::to_string(frames_) + " is " + std::to_string(image.width) +
                "x" + std::to_string(image.height) + ", expected " + std::to_string(c.width) + "x" +
                std::to_string(c.height));
  Check(av_frame_make_writable(c.frame), "frame buffer");
  const uint8_t* src[1] = {image.rgb.data()};
  const int stride[1] = {3 * image.width};
  sws_scale(c.scaler, src, stride, 0, image.height, c.frame->data, c.frame->linesize);
  c.frame->pts = frames_++;
  c.Encode(c.frame);
}

void VideoWriter::Close() {
  if (closed_) return;
  closed_ = true;
  Codec& c = *codec_;
  c.Encode(nullptr);
  Check(av_write_trailer(c.format), "writing the trailer");
  avio_closep(&c.format->pb);
  const int fd = ::open(temp_path_.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::filesystem::rename(temp_path_, path_);
}

VideoInfo DecodeVideo(const std::string& path) {
  AVFormatContext* format = nullptr;
  Check(avformat_open_input(&format, path.c_str(), nullptr, nullptr), "opening " + path);
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> format_guard(
      format, [](AVFormatContext* f) { avformat_close_input(&f); });
  Check(avformat_find_stream_info(format, nullptr), "reading " + path);
  const int index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  Check(index, "finding a video stream in " + path);
  const AVStream* stream = format->streams[index];
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (!codec) throw Error("video: no decoder for " + path);
  AVCodecContext* decoder = avcodec_alloc_context3(codec);
  std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> decoder_guard(
      decoder, [](AVCodecContext* d) { avcodec_free_context(&d); });
  Check(avcodec_parameters_to_context(decoder, stream->codecpar), "decoder parameters");
  Check(avcodec_open2(decoder, codec, nullptr), "opening the decoder");
  VideoInfo info{avcodec_get_name(stream->codecpar->codec_id), 0, 0, 0,
                 av_q2d(stream->r_frame_rate)};
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  const auto drain = [&] {
    while (avcodec_receive_frame(decoder, frame) == 0) {
      info.width = frame->width;
      info.height = frame->height;
      ++info.frames;
    }
  };
  while (av_read_frame(format, packet) >= 0) {
    if (packet->stream_index == index) {
      int sent;
      while ((sent = avcodec_send_packet(decoder, packet)) == AVERROR(EAGAIN)) drain();
      Check(sent, "decoding " + path);
      drain();
    }
    av_packet_unref(packet);
  }
  avcodec_send_packet(decoder, nullptr);
  drain();
  av_frame_free(&frame);
  av_packet_free(&packet);
  return info;
}

Box DrawOverlay(env::Image& frame, const std::vector<std::pair<std::string, std::string>>& lines) {
  if (lines.empty()) return {};
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
}

}  // namespace rlforge::io
