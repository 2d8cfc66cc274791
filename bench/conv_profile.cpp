// Where the tensor-core convolution's time goes (issue 14: ResNet-50 at batch 1 spends 50-75 us
// of device time in every convolution, whatever its size). No profiler sees OpenCL kernels on
// the GPU machine, so this times the pieces: for ResNet-50 layers at batch 1 and 32, each
// tensor-core tile whole, then without the column gather (-DPROFILE_NO_GATHER), without the
// epilogue (-DPROFILE_NO_EPILOGUE) and without the mma (-DPROFILE_NO_MMA); registers and
// spills as ptxas reports them (-cl-nv-verbose, build_log.h). Times are the kernels' own device
// times (per-kernel events, kernel_timing.h), per call, the median of `reps` calls; split-K
// calls count their clearing and finishing kernels too.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/conv_profile.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/conv_profile
//   build/g/conv_profile [reps]
//
// `build/g/conv_profile 2 emulate` checks the tool itself on any device (PoCL) with the mma
// emulated and the layers shrunk.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernel_support.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/ops/convolution/convolution_mma.h"
#include "backend/opencl/program.h"
#include "backend/opencl/stream.h"
#include "build_log.h"

using namespace mlprt;
using namespace mlprt::cl;

namespace {

struct Layer {
  const char* name;
  int n, c, h, w, m, kernel, stride, pad;
  bool residual;
  int oh() const { return (h + 2 * pad - kernel) / stride + 1; }
  int ow() const { return (w + 2 * pad - kernel) / stride + 1; }
  double flops() const { return 2.0 * n * m * oh() * ow() * static_cast<double>(c) * kernel * kernel; }
};

std::shared_ptr<DeviceBuffer> halves(const std::shared_ptr<Context>& context, Stream& stream, std::size_t count,
                                     unsigned seed) {
  std::vector<std::uint16_t> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    seed = seed * 1664525u + 1013904223u;
    values[i] = static_cast<std::uint16_t>(0x3000u + ((seed >> 16) & 0x7ffu));  // 0.125 .. 0.25
  }
  auto buffer = DeviceBuffer::allocate(context, std::max<std::size_t>(count, 1) * 2);
  copyHostToDevice(stream, {buffer, 0}, values.data(), count * 2, CopyMode::kBlocking);
  return buffer;
}

// One call of the layer with `tile` and extra build options, as ops/convolution launches it.
struct Call {
  Kernel* main = nullptr;
  Kernel* finish = nullptr;
  std::vector<std::size_t> global, local, pointwise_global;
};

double medianCallMilliseconds(Stream& stream, int reps, const Call& call) {
  std::vector<double> times;
  for (int r = 0; r < reps + 2; ++r) {
    KernelTimingLog log;
    {
      KernelTimingScope scope(log);
      call.main->launch(stream, call.global, call.local);
      if (call.finish) call.finish->launch(stream, call.pointwise_global, {256});
    }
    if (r >= 2) times.push_back(log.kernelMilliseconds());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void profileLayer(const std::shared_ptr<Context>& context, KernelCache& cache, Stream& stream, const Layer& layer,
                  int reps, bool emulate, bool nvidia) {
  const int oh = layer.oh(), ow = layer.ow();
  const std::int64_t k = static_cast<std::int64_t>(layer.c) * layer.kernel * layer.kernel;
  const std::size_t out_count = static_cast<std::size_t>(layer.n) * layer.m * oh * ow;
  auto in = halves(context, stream, static_cast<std::size_t>(layer.n) * layer.c * layer.h * layer.w, 1);
  auto weights = halves(context, stream, static_cast<std::size_t>(layer.m) * k, 2);
  auto bias = halves(context, stream, layer.m, 3);
  auto residual = halves(context, stream, out_count, 4);
  auto out = DeviceBuffer::allocate(context, out_count * 2);
  // Split tiles' partial blocks: the most any slice count below may need.
  std::size_t workspace_bytes = 4;
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    workspace_bytes = std::max(workspace_bytes, mmaConvolutionWorkspaceBound(tile, context->device().compute_units));
  }
  auto workspace = DeviceBuffer::allocate(context, workspace_bytes);
  std::printf("%s: N %d, C %d, %dx%d -> M %d, %dx%d kernel, stride %d (%.3f GFLOP)\n", layer.name, layer.n, layer.c,
              layer.h, layer.w, layer.m, layer.kernel, layer.kernel, layer.stride, layer.flops() * 1e-9);
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    if (tile.tf32) continue;
    MmaConvolutionOperands operands;
    operands.k = k;
    operands.pointwise = layer.kernel == 1 && layer.stride == 1 && layer.pad == 0;
    operands.plane = static_cast<std::int64_t>(oh) * ow;
    const std::int64_t pixels = static_cast<std::int64_t>(layer.n) * oh * mmaConvolutionRowPitch(tile, operands.pointwise, ow);
    const std::int64_t blocks = ((pixels + tile.bn - 1) / tile.bn) * ((layer.m + tile.bm - 1) / tile.bm);
    const std::int64_t chosen = mmaConvolutionSplits(tile, blocks, k, context->device().compute_units);
    if (tile.split_k && chosen == 1) continue;  // the same kernel as the plain tile
    // Split tiles: also fewer slices than the launcher's choice (whole only), to weigh the
    // slices' partial sums against the work-groups' trips through K.
    std::vector<std::int64_t> slice_counts = {chosen};
    for (std::int64_t fewer : {2, 4, 6, 9}) {
      if (tile.split_k && fewer < chosen) slice_counts.push_back(fewer);
    }
    for (const std::int64_t splits : slice_counts) {
    const std::string base = "-DIN_HALF -DA_HALF -DBIAS_HALF -DOUT_HALF -DRES_HALF " +
                             mmaConvolutionOptions(tile, operands, splits > 1, emulate);
    for (const char* variant : {"", "-DPROFILE_NO_GATHER", "-DPROFILE_NO_EPILOGUE", "-DPROFILE_NO_MMA"}) {
      if (splits != chosen && *variant) continue;
      const std::string options = base + (*variant ? std::string(" ") + variant : std::string()) +
                                  (nvidia && !*variant ? " -cl-nv-verbose" : "");
      Call call;
      try {
        call.main = &cache.get("convolution_mma", options, "convolution_mma");
        if (splits > 1) call.finish = &cache.get("convolution_mma", options, "convolution_mma_finish");
      } catch (const std::exception& e) {
        std::printf("  %s %s: does not build: %.200s\n", tile.name, variant, e.what());
        continue;
      }
      const long zero = 0;
      int index = 0;
      Kernel& kernel = *call.main;
      for (const auto& buffer : {in, weights, bias, out}) {
        kernel.setBuffer(index++, *buffer);
        kernel.setValue(index++, zero);
      }
      for (int value : {layer.c, layer.h, layer.w, layer.m, oh, ow, layer.kernel, layer.kernel, layer.stride,
                        layer.stride, 1, 1, layer.pad, layer.pad, 1, 1, 0}) {
        kernel.setValue(index++, value);  // ..., groups 1, bias, ReLU (0)
      }
      kernel.setValue(index++, 0.0f);
      kernel.setValue(index++, 0.0f);
      kernel.setBuffer(index++, *(layer.residual ? residual : out));
      kernel.setValue(index++, zero);
      kernel.setValue(index++, layer.residual ? 1 : 0);
      kernel.setValue(index++, layer.n);
      const int groups_x = static_cast<int>((pixels + tile.bn - 1) / tile.bn);
      const int groups_y = static_cast<int>((layer.m + tile.bm - 1) / tile.bm);
      if (splits > 1) {
        kernel.setValue(index++, static_cast<int>(splits));
        kernel.setBuffer(index++, *workspace);
        kernel.setValue(index++, zero);
      }
      call.global = {static_cast<std::size_t>(groups_x) * tile.threads(), static_cast<std::size_t>(groups_y),
                     static_cast<std::size_t>(splits)};
      call.local = {tile.threads(), 1, 1};
      call.pointwise_global = {(out_count + 255) / 256 * 256};
      if (call.finish) {
        int f = 0;
        Kernel& finish = *call.finish;
        for (const auto& buffer : {out, workspace, bias, layer.residual ? residual : out}) {
          finish.setBuffer(f++, *buffer);
          finish.setValue(f++, zero);
        }
        for (int value : {layer.m, 1, oh, ow, groups_x, groups_y, static_cast<int>(splits)}) finish.setValue(f++, value);
        finish.setValue(f++, static_cast<long>(out_count));
        for (int value : {1, layer.residual ? 1 : 0, 0}) finish.setValue(f++, value);
        finish.setValue(f++, 0.0f);
        finish.setValue(f++, 0.0f);
      }
      const double ms = medianCallMilliseconds(stream, reps, call);
      std::printf("  %-22s %-22s splits %2lld, %5lld groups: %8.1f us, %6.1f TFLOP/s\n", tile.name,
                  *variant ? variant + 2 : "whole", static_cast<long long>(splits),
                  static_cast<long long>(blocks * splits), ms * 1e3, layer.flops() / (ms * 1e-3) / 1e12);
      if (!*variant && splits == chosen) {
        const std::string log = bench::buildLog(call.main->program()->get(), context->device().id);
        std::printf("%s", bench::resourceLines(log).c_str());
      }
    }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it goes, also into a file
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  const bool emulate = argc > 2 && std::strcmp(argv[2], "emulate") == 0;
  auto context = Context::current();
  const bool nvidia = context->device().vendor.find("NVIDIA") != std::string::npos;
  std::printf("%s, %u compute units\n", context->device().name.c_str(), context->device().compute_units);
  auto stream = Stream::create(context);
  KernelCache cache(context);
  // ResNet-50's layers (batch 1 and 32): a 3x3 of layer 1, of layer 4 (split K at batch 1),
  // a 1x1 with the residual Add, and the 7x7 stem.
  std::vector<Layer> layers = {
      {"layer1 conv2 b1", 1, 64, 56, 56, 64, 3, 1, 1, false},
      {"layer3 conv2 b1", 1, 256, 14, 14, 256, 3, 1, 1, false},
      {"layer4 conv2 b1", 1, 512, 7, 7, 512, 3, 1, 1, false},
      {"layer4 conv3 b1", 1, 512, 7, 7, 2048, 1, 1, 0, true},
      {"layer1 conv3 b1", 1, 64, 56, 56, 256, 1, 1, 0, true},
      {"layer1 conv2 b32", 32, 64, 56, 56, 64, 3, 1, 1, false},
      {"layer1 conv3 b32", 32, 64, 56, 56, 256, 1, 1, 0, true},
      {"layer4 conv2 b32", 32, 512, 7, 7, 512, 3, 1, 1, false},
  };
  if (emulate) {
    layers = {{"small 3x3", 1, 16, 9, 9, 24, 3, 1, 1, false}, {"small 1x1", 2, 16, 8, 8, 32, 1, 1, 0, true}};
  }
  for (const Layer& layer : layers) profileLayer(context, cache, *stream, layer, reps, emulate, nvidia);
  return 0;
}
