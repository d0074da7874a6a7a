// The FFmpeg half of io/video.h, built as librlforge_video.so and loaded at the first video:
// FFmpeg's libraries (and the codecs they pull in) cost every process ~20 ms and ~30 MB to map.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <memory>

#include "rlforge/core/error.h"
#include "rlforge/io/video.h"

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

}  // namespace

// The FFmpeg objects of one output file.
class FfmpegEncoder final : public VideoEncoder {
 public:
  AVFormatContext* format = nullptr;
  AVCodecContext* encoder = nullptr;
  AVStream* stream = nullptr;
  SwsContext* scaler = nullptr;  // RGB24 -> YUV420P (and to an even size)
  AVFrame* frame = nullptr;      // the YUV frame handed to the encoder
  AVPacket* packet = nullptr;
  int width = 0, height = 0;  // input frame size
  int64_t frames = 0;         // frames encoded

  FfmpegEncoder(const std::string& path, bool mp4, int width_, int height_, int fps) {
    av_log_set_level(AV_LOG_ERROR);  // no encoder banners on stderr
    FfmpegEncoder& c = *this;
    c.width = width_;
    c.height = height_;
    Check(avformat_alloc_output_context2(&c.format, nullptr, mp4 ? "mp4" : "webm", path.c_str()),
          "choosing the container");
    const AVCodec* codec = avcodec_find_encoder_by_name(mp4 ? "libx264" : "libvpx-vp9");
    if (!codec) codec = avcodec_find_encoder(mp4 ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP9);
    if (!codec)
      throw Error(std::string("video: FFmpeg has no ") + (mp4 ? "H.264" : "VP9") + " encoder");
    c.encoder = avcodec_alloc_context3(codec);
    c.encoder->width = Even(width_);
    c.encoder->height = Even(height_);
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
    Check(avio_open(&c.format->pb, path.c_str(), AVIO_FLAG_WRITE), "opening " + path);
    AVDictionary* options = nullptr;
    if (mp4) av_dict_set(&options, "movflags", "+faststart", 0);  // playable while loading
    const int header = avformat_write_header(c.format, &options);
    av_dict_free(&options);
    Check(header, "writing the header");
    c.scaler =
        sws_getContext(width_, height_, AV_PIX_FMT_RGB24, c.encoder->width, c.encoder->height,
                       AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
    c.frame = av_frame_alloc();
    c.frame->format = AV_PIX_FMT_YUV420P;
    c.frame->width = c.encoder->width;
    c.frame->height = c.encoder->height;
    Check(av_frame_get_buffer(c.frame, 0), "allocating a frame");
    c.packet = av_packet_alloc();
  }

  void Write(const env::Image& image) override {
    Check(av_frame_make_writable(frame), "frame buffer");
    const uint8_t* src[1] = {image.rgb.data()};
    const int stride[1] = {3 * image.width};
    sws_scale(scaler, src, stride, 0, image.height, frame->data, frame->linesize);
    frame->pts = frames++;
    Encode(frame);
  }

  void Finish() override {
    Encode(nullptr);
    Check(av_write_trailer(format), "writing the trailer");
    avio_closep(&format->pb);
  }

  ~FfmpegEncoder() override {
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

VideoInfo FfmpegDecode(const std::string& path) {
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

const VideoBackend kBackend = {
    [](const std::string& path, bool mp4, int width, int height, int fps) {
      return std::unique_ptr<VideoEncoder>(
          std::make_unique<FfmpegEncoder>(path, mp4, width, height, fps));
    },
    FfmpegDecode};

}  // namespace rlforge::io

extern "C" const rlforge::io::VideoBackend* rlforge_video_backend() {
  return &rlforge::io::kBackend;
}
