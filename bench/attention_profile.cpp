// Where BERT's attention time goes (issue 16: BERT-base at batch 32 spends 0.83 ms of 6.1 in its 12
// attention layers, 69 us each for 1.6 GFLOP, about 2 TFLOP/s). No profiler sees OpenCL kernels on
// the GPU machine, so this times ops/attention's launcher alone (per-kernel events,
// kernel_timing.h; median of `reps` calls) at BERT's shapes: every tensor-core tactic on the
// engine's layout (q, k and v read from the merged projection's (B, S, 3 x H x D) output, a
// (B, S) key-padding mask, output (B, S, H x D)), then without the mask, then on separate
// (B, H, S, D) tensors, so that the layout's and the mask's costs show.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/attention_profile.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/attention_profile
//   build/g/attention_profile [reps] [emulate]
//
// `attention_profile 2 emulate` checks the tool itself on any device (PoCL) with the mma emulated
// and the batch shrunk to 1.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/stream.h"

using namespace mlprt;
using namespace mlprt::cl;

namespace {

std::shared_ptr<DeviceBuffer> filled(const std::shared_ptr<Context>& context, Stream& stream,
                                     const std::vector<std::uint8_t>& bytes) {
  auto buffer = DeviceBuffer::allocate(context, std::max<std::size_t>(bytes.size(), 4));
  copyHostToDevice(stream, {buffer, 0}, bytes.data(), bytes.size(), CopyMode::kBlocking);
  return buffer;
}

// `count` halves in 0.125 .. 0.25 (scores stay small), as bytes.
std::vector<std::uint8_t> halves(std::size_t count, unsigned seed) {
  std::vector<std::uint8_t> bytes(count * 2);
  for (std::size_t i = 0; i < count; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const unsigned value = 0x3000u + ((seed >> 16) & 0x7ffu);
    bytes[2 * i] = static_cast<std::uint8_t>(value & 0xffu);
    bytes[2 * i + 1] = static_cast<std::uint8_t>(value >> 8);
  }
  return bytes;
}

template <typename Run>
double medianMilliseconds(Stream& stream, int reps, const Run& run) {
  std::vector<double> times;
  for (int r = 0; r < reps + 2; ++r) {
    KernelTimingLog log;
    {
      KernelTimingScope scope(log);
      run();
    }
    if (r >= 2) times.push_back(log.kernelMilliseconds());
  }
  stream.synchronize();
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const bool emulate = argc > 2 && std::strcmp(argv[2], "emulate") == 0;
  if (emulate) setAttentionMmaEmulation(true);
  auto context = Context::current();
  std::printf("%s, %u compute units\n", context->device().name.c_str(), context->device().compute_units);
  auto stream = Stream::create(context);
  KernelCache cache(context);
  const std::int64_t batch = emulate ? 1 : 32, sequence = 128, heads = 12, head = 64, hidden = heads * head;
  const double flops = 4.0 * batch * heads * sequence * sequence * head;
  auto merged = filled(context, *stream, halves(static_cast<std::size_t>(batch * sequence * 3 * hidden), 1));
  auto separate = filled(context, *stream, halves(static_cast<std::size_t>(3 * batch * sequence * hidden), 2));
  auto out = DeviceBuffer::allocate(context, static_cast<std::size_t>(batch * sequence * hidden) * 2);
  // BERT's attention_mask: ones, the last row's second half padding (transformer_bench.py's sample).
  std::vector<std::int64_t> mask_values(static_cast<std::size_t>(batch * sequence), 1);
  for (std::int64_t j = sequence / 2; j < sequence; ++j) mask_values[static_cast<std::size_t>((batch - 1) * sequence + j)] = 0;
  std::vector<std::uint8_t> mask_bytes(mask_values.size() * 8);
  std::memcpy(mask_bytes.data(), mask_values.data(), mask_bytes.size());
  auto mask_buffer = filled(context, *stream, mask_bytes);

  const DeviceTensor mask{{mask_buffer, 0}, Dims{batch, sequence}, DataType::kINT64};
  const Dims packed{batch, sequence, 3 * hidden};
  const DeviceTensor qkv{{merged, 0}, packed, DataType::kHALF};
  const DeviceTensor packed_out{{out, 0}, Dims{batch, sequence, hidden}, DataType::kHALF};
  const Dims split{batch, heads, sequence, head};
  const std::size_t part = static_cast<std::size_t>(batch * sequence * hidden) * 2;
  const DeviceTensor q{{separate, 0}, split, DataType::kHALF}, k{{separate, part}, split, DataType::kHALF},
      v{{separate, 2 * part}, split, DataType::kHALF};
  const DeviceTensor split_out{{out, 0}, split, DataType::kHALF};

  AttentionParameters merged_parameters;
  merged_parameters.scale = 0.125f;
  merged_parameters.packed = kPackedQuery | kPackedKeys | kPackedValues | kPackedOutput;
  merged_parameters.merged_qkv = true;
  merged_parameters.heads = heads;
  merged_parameters.kv_heads = heads;
  AttentionParameters split_parameters;
  split_parameters.scale = 0.125f;

  std::printf("BERT-base attention: batch %lld, sequence %lld, %lld heads of %lld (%.3f GFLOP)\n",
              static_cast<long long>(batch), static_cast<long long>(sequence), static_cast<long long>(heads),
              static_cast<long long>(head), flops * 1e-9);
  for (const std::string& tactic : attentionTactics(context, true, head, head)) {
    struct Case {
      const char* what;
      std::function<void()> run;
    };
    const std::vector<Case> cases = {
        {"merged q k v, key mask (the engine's)",
         [&] { attention(cache, *stream, tactic, merged_parameters, qkv, qkv, qkv, &mask, packed_out); }},
        {"merged q k v, no mask",
         [&] { attention(cache, *stream, tactic, merged_parameters, qkv, qkv, qkv, nullptr, packed_out); }},
        {"(B, H, S, D) tensors, no mask",
         [&] { attention(cache, *stream, tactic, split_parameters, q, k, v, nullptr, split_out); }},
    };
    for (const Case& c : cases) {
      try {
        const double ms = medianMilliseconds(*stream, reps, c.run);
        std::printf("  %-24s %-40s %8.1f us %7.2f TFLOP/s\n", tactic.c_str(), c.what, ms * 1e3,
                    flops / (ms * 1e-3) / 1e12);
      } catch (const std::exception& e) {
        std::printf("  %-24s %-40s failed: %.200s\n", tactic.c_str(), c.what, e.what());
      }
    }
  }
  return 0;
}
