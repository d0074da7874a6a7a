// The job's process group: under `mpirun -np N` this process is rank r of N, without it rank 0 of
// 1 (MPI is not started at all). Collectives move flat blocks and keep the bits independent of
// the MPI library's algorithms: sums are taken by the caller in rank order over what Allgather
// returns, never by MPI_SUM on floats (see reference/notes_distributed.md, section 4).
//
// Every collective waits at most timeout() seconds; past that the job is stopped with a message
// (OpenMPI 4 has no fault tolerance: a hung or lost rank would otherwise block forever).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rlforge::dist {

// Starts MPI if this process was launched by mpirun (idempotent; MPI_Finalize runs at exit).
// Throws when launched by mpirun but built without MPI.
void Init();
int Rank();  // 0 without mpirun
int Size();  // 1 without mpirun
inline bool Distributed() { return Size() > 1; }

// Seconds a collective waits for the other ranks before the job is stopped (default 600).
void SetTimeout(double seconds);

// Seconds this process has spent in collectives so far, waiting for the others included.
double seconds_in_collectives();

// Every rank's `mine` (the same size on every rank), concatenated in rank order.
void Allgather(std::span<const float> mine, std::span<float> all);
void Allgather(std::span<const double> mine, std::span<double> all);
// Every rank's `values` (the same size on every rank) averaged, in place: summed in rank order,
// then divided by the rank count, so every rank gets the same bits.
void AverageInRankOrder(std::span<float> values);
// Every rank's `mine` (any size), concatenated in rank order.
std::vector<double> AllgatherV(std::span<const double> mine);
// True on every rank when `flag` is true on any rank.
bool AnyRank(bool flag);
// Rank 0's `text` on every rank.
void Broadcast(std::string& text);
// Waits for every rank.
void Barrier();
// Stops the whole job now: `message` on stderr (prefixed with this rank), exit status `code`.
[[noreturn]] void Abort(const std::string& message, int code = 1);

// FNV-1a hash of bytes, to check that ranks hold the same state.
uint64_t Hash(const void* data, size_t bytes, uint64_t h = 1469598103934665603ull);
// Throws, naming the ranks that differ, unless `value` is the same on every rank.
void CheckSame(uint64_t value, const std::string& what);

}  // namespace rlforge::dist
