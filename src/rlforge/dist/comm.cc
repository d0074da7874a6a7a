#include "rlforge/dist/comm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "rlforge/core/error.h"

#ifdef RLFORGE_HAVE_MPI
#include <mpi.h>
#endif

namespace rlforge::dist {
namespace {

int g_rank = 0, g_size = 1;
bool g_started = false;
double g_timeout = 600.0;
double g_waited = 0.0;  // seconds in collectives so far

// Launched by OpenMPI's mpirun (which sets this in every rank's environment).
bool UnderMpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

using Clock = std::chrono::steady_clock;
double Seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// The collective this process is in (what it is, since when; 0 = none), for the watchdog.
std::atomic<const char*> g_what{nullptr};
std::atomic<double> g_since{0.0};

// A thread that stops the job when a collective waits longer than the timeout: the blocking
// collectives are MPI's fastest, and a thread that only exits needs no MPI calls of its own
// (mpirun then stops the other ranks, as for any rank that exits without finalizing).
void Watchdog() {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double since = g_since.load();
    if (since == 0.0 || Seconds() - since <= g_timeout) continue;
    std::fprintf(stderr,
                 "rlforge rank %d of %d: no answer from the other ranks in %s within %.0f s (a "
                 "rank hung or its host is unreachable); stopping the job: resume it from the "
                 "last checkpoint with --resume\n",
                 g_rank, g_size, g_what.load(), g_timeout);
    std::fflush(stderr);
    std::_Exit(3);
  }
}

// Runs one blocking collective under the watchdog, adding its time to g_waited.
template <class Fn>
void Collective(const char* what, Fn&& fn) {
  g_what.store(what);
  const double start = Seconds();
  g_since.store(start);
  fn();
  g_since.store(0.0);
  g_waited += Seconds() - start;
}

#ifdef RLFORGE_HAVE_MPI
void Finalize() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}
#endif

}  // namespace

void Init() {
  if (g_started || !UnderMpirun()) return;
#ifdef RLFORGE_HAVE_MPI
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_started = true;
  std::atexit(Finalize);
  if (g_size > 1) std::thread(Watchdog).detach();
#else
  if (std::atoi(std::getenv("OMPI_COMM_WORLD_SIZE")) > 1)
    throw Error(
        "mpirun: this rlforge was built without MPI (RLFORGE_MPI=OFF); rebuild with "
        "libopenmpi-dev installed");
#endif
}

int Rank() { return g_rank; }
int Size() { return g_size; }

void SetTimeout(double seconds) {
  if (!(seconds > 0.0)) throw Error("--rank-timeout: expected a positive number of seconds");
  g_timeout = seconds;
}
double seconds_in_collectives() { return g_waited; }

namespace {

// Every rank's `bytes` bytes at `mine`, concatenated in rank order into `all` (ranks x bytes).
void AllgatherBytes(const void* mine, size_t bytes, void* all, const char* what) {
  if (g_size == 1) {
    std::memcpy(all, mine, bytes);
    return;
  }
#ifdef RLFORGE_HAVE_MPI
  Collective(what, [&] {
    MPI_Allgather(mine, static_cast<int>(bytes), MPI_BYTE, all, static_cast<int>(bytes), MPI_BYTE,
                  MPI_COMM_WORLD);
  });
#endif
}

template <class T>
void AllgatherOf(std::span<const T> mine, std::span<T> all, const char* what) {
  if (all.size() != mine.size() * static_cast<size_t>(g_size))
    throw Error("dist::Allgather: expected ranks x " + std::to_string(mine.size()) + " values");
  AllgatherBytes(mine.data(), mine.size_bytes(), all.data(), what);
}

}  // namespace

void Allgather(std::span<const float> mine, std::span<float> all) {
  AllgatherOf(mine, all, "a gradient exchange");
}

void Allgather(std::span<const double> mine, std::span<double> all) {
  AllgatherOf(mine, all, "an exchange of statistics");
}

void AverageInRankOrder(std::span<float> values) {
  if (g_size == 1) return;
  static thread_local std::vector<float> all;  // every rank's values   (ranks x n)
  all.resize(values.size() * static_cast<size_t>(g_size));
  AllgatherOf(std::span<const float>(values), std::span<float>(all), "a gradient exchange");
  const size_t n = values.size();
  std::copy_n(all.begin(), n, values.begin());
  for (int r = 1; r < g_size; ++r) {
    for (size_t i = 0; i < n; ++i) values[i] += all[r * n + i];
  }
  const float inv = 1.0f / static_cast<float>(g_size);
  for (float& v : values) v *= inv;
}

std::vector<double> AllgatherV(std::span<const double> mine) {
  if (g_size == 1) return {mine.begin(), mine.end()};
  std::vector<double> sizes(static_cast<size_t>(g_size));
  const double size = static_cast<double>(mine.size());
  Allgather(std::span<const double>(&size, 1), sizes);
  std::vector<int> counts(sizes.size()), offsets(sizes.size());
  int total = 0;
  for (size_t r = 0; r < sizes.size(); ++r) {
    counts[r] = static_cast<int>(sizes[r]);
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<double> all(static_cast<size_t>(total));
#ifdef RLFORGE_HAVE_MPI
  Collective("an exchange of episode statistics", [&] {
    MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                   counts.data(), offsets.data(), MPI_DOUBLE, MPI_COMM_WORLD);
  });
#endif
  return all;
}

bool AnyRank(bool flag) {
  if (g_size == 1) return flag;
  int in = flag ? 1 : 0, out = 0;
#ifdef RLFORGE_HAVE_MPI
  Collective("a stop decision",
             [&] { MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD); });
#endif
  return out != 0;
}

void Broadcast(std::string& text) {
  if (g_size == 1) return;
#ifdef RLFORGE_HAVE_MPI
  uint64_t size = text.size();
  Collective("a broadcast", [&] { MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD); });
  text.resize(size);
  Collective("a broadcast",
             [&] { MPI_Bcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD); });
#endif
}

void Barrier() {
  if (g_size == 1) return;
#ifdef RLFORGE_HAVE_MPI
  Collective("a barrier", [] { MPI_Barrier(MPI_COMM_WORLD); });
#endif
}

void Abort(const std::string& message, int code) {
  std::fprintf(stderr, "rlforge rank %d of %d: %s\n", g_rank, g_size, message.c_str());
  std::fflush(stderr);
#ifdef RLFORGE_HAVE_MPI
  if (g_started) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

uint64_t Hash(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void CheckSame(uint64_t value, const std::string& what) {
  if (g_size == 1) return;
  std::vector<uint64_t> all(static_cast<size_t>(g_size));
  AllgatherBytes(&value, sizeof value, all.data(), "a check of the ranks' state");
  std::string differ;
  for (int r = 1; r < g_size; ++r) {
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!differ.empty())
    throw Error(what + " differs between rank 0 and rank(s) " + differ +
                " (every rank must run the same rlforge build and config)");
}

}  // namespace rlforge::dist
