// What NVIDIA's assembler makes of mlprt's wgmma kernels (issue 16: the GEMM tiles run at about a
// third of the H100's FP16 peak whatever the ring does: deeper rings and a producer warpgroup
// with mbarriers change little, bench/RESULTS.md run 21). Compiles the real kernel families with
// the options their launchers use, patches the PTX as Program::build does (ptx_patch.h) and
// builds it again with `-cl-nv-verbose`, so that the build log shows ptxas's report: registers,
// spills, and its advisories (e.g. wgmma serialized, which would hold every product until the
// previous one finished). Writes each kernel's PTX before and after the patch into `out_dir`,
// with counts of what lies between the warpgroup instructions.
//
//   g++ -O2 -std=c++17 -Icsrc bench/wgmma_ptxas.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/wgmma_ptxas
//   build/g/wgmma_ptxas OUT_DIR
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "backend/opencl/ptx_patch.h"
#include "cl_bench_util.h"

namespace {

struct Variant {
  const char* name;
  const char* family;
  const char* options;
};

// As runWgmma (gemm_mma.cpp) and the wgmma convolution launcher build them: HALF operands and
// output, bias and ReLU fixed at build.
const std::vector<Variant> kVariants = {
    {"gemm_wgmma_128x256_s3", "gemm_mma",
     "-DWGMMA -DBN=256 -DGROUPS=2 -DSTAGES=3 -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=1"},
    {"gemm_wgmma_128x128_s3", "gemm_mma",
     "-DWGMMA -DBN=128 -DGROUPS=2 -DSTAGES=3 -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=1"},
    {"gemm_wgmma_ws_128x256_s4", "gemm_mma",
     "-DWGMMA -DWS -DBN=256 -DGROUPS=2 -DSTAGES=4 -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF "
     "-DFIXED_ACTIVATION=1"},
    {"convolution_wgmma_128x128", "convolution_wgmma", "-DWGMMA -DB_VECT -DGROUPS=2 -DBN=128 -DSTAGES=3 -DFIXED_ACTIVATION=1"},
    // Not wgmma: BERT-base's attention (60 us a layer for 1.6 GFLOP, run 21), for its registers
    // and spills.
    {"attention_mma_w2", "attention_mma", "-DWARPS=2 -DHEAD_K=64 -DHEAD_V=64 -DOUT_HALF"},
};

std::string buildLog(cl_program program, cl_device_id device) {
  std::size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  return log.c_str();
}

int count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

int main(int argc, char** argv) {
  const std::string out_dir = argc > 1 ? argv[1] : ".";
  cl_platform_id platforms[8];
  cl_uint platform_count = 0;
  clGetPlatformIDs(8, platforms, &platform_count);
  cl_device_id device = nullptr;
  for (cl_uint p = 0; p < platform_count && device == nullptr; ++p) {
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_GPU, 1, &device, nullptr) != CL_SUCCESS) device = nullptr;
  }
  if (device == nullptr) {
    std::printf("no OpenCL GPU\n");
    return 1;
  }
  cl_int status = CL_SUCCESS;
  cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status);
  for (const Variant& v : kVariants) {
    const std::string& source = mlprt::cl::kernelSource(v.family);
    const char* text = source.c_str();
    cl_program program = clCreateProgramWithSource(context, 1, &text, nullptr, &status);
    const std::string options = std::string(v.options) + " -cl-nv-verbose";
    status = clBuildProgram(program, 1, &device, options.c_str(), nullptr, nullptr);
    std::printf("== %s: source build %d\n%s\n", v.name, status, buildLog(program, device).c_str());
    if (status != CL_SUCCESS) continue;
    const std::string ptx = bench::programText(program);
    clReleaseProgram(program);
    const std::string patched = mlprt::cl::patchPtx(ptx);  // unchanged without placeholders
    write(out_dir + "/" + v.name + ".ptx", ptx);
    write(out_dir + "/" + v.name + ".patched.ptx", patched);
    std::printf("PTX: %d wgmma.mma_async, %d wait_group, %d mov.f32, %d mov.b32, %d ld.local, %d st.local\n",
                count(patched, "wgmma\\.mma_async"), count(patched, "wgmma\\.wait_group"),
                count(patched, "mov\\.f32"), count(patched, "mov\\.b32"), count(patched, "ld\\.local"),
                count(patched, "st\\.local"));
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(patched.c_str());
    const std::size_t size = patched.size() + 1;
    cl_int binary_status = CL_SUCCESS;
    cl_program rebuilt = clCreateProgramWithBinary(context, 1, &device, &size, &bytes, &binary_status, &status);
    status = clBuildProgram(rebuilt, 1, &device, options.c_str(), nullptr, nullptr);
    std::printf("patched build %d:\n%s\n", status, buildLog(rebuilt, device).c_str());
    clReleaseProgram(rebuilt);
  }
  clReleaseContext(context);
  return 0;
}
