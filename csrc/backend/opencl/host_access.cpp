#include "backend/opencl/host_access.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "backend/opencl/handle.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/program.h"
#include "core/hash.h"
#include "core/logging.h"

namespace mlprt::cl {
namespace {

namespace fs = std::filesystem;

struct Verdict {
  bool allowed = false;
  std::string report;
};

std::mutex& verdictMutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<std::string, Verdict>& verdicts() {  // by device fingerprint
  static std::map<std::string, Verdict> instance;
  return instance;
}
std::optional<bool>& overrideSetting() {
  static std::optional<bool> instance;
  return instance;
}

bool mentionsNvidia(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return text.find("NVIDIA") != std::string::npos;
}

bool disabledByEnvironment() {
  const char* value = std::getenv("MLPRT_HOST_ADDRESSING");
  return value && (std::string(value) == "0" || std::string(value) == "off");
}

// Where the verdict of an earlier process is kept, beside the program cache ("" for none).
fs::path verdictFile(const DeviceInfo& device) {
  const std::string programs = programCacheDirectory();
  if (programs.empty()) return {};
  return fs::path(programs).parent_path() / "host-access" / (hexHash(device.fingerprint()) + ".txt");
}

std::optional<Verdict> readVerdict(const DeviceInfo& device) {
  const fs::path file = verdictFile(device);
  if (file.empty()) return std::nullopt;
  std::ifstream in(file);
  std::string fingerprint_line, answer;
  if (!std::getline(in, fingerprint_line) || fingerprint_line != device.fingerprint() || !std::getline(in, answer) ||
      (answer != "1" && answer != "0")) {
    return std::nullopt;
  }
  return Verdict{answer == "1", std::string("probe result of an earlier process (") + file.string() + ")"};
}

void writeVerdict(const DeviceInfo& device, bool allowed) {
  const fs::path file = verdictFile(device);
  if (file.empty()) return;
  std::error_code ignored;
  fs::create_directories(file.parent_path(), ignored);
  std::ofstream out(file);
  out << device.fingerprint() << '\n' << (allowed ? "1" : "0") << '\n';  // best effort: a cache
}

// Raw OpenCL in a context of its own: if the device faults on a host address, only this
// context is lost, never the one the process works in.
Verdict runProbe(const DeviceInfo& device) {
  constexpr int kCount = 1024;
  cl_int status = CL_SUCCESS;
  const ContextHandle context(clCreateContext(nullptr, 1, &device.id, nullptr, nullptr, &status));
  if (status != CL_SUCCESS) return {false, "could not create a probe context (" + std::string(statusName(status)) + ")"};
  const QueueHandle queue(clCreateCommandQueue(context.get(), device.id, 0, &status));
  if (status != CL_SUCCESS) return {false, "could not create a probe queue (" + std::string(statusName(status)) + ")"};
  const std::string& source = kernelSource("host_access");
  const char* text = source.c_str();
  const ProgramHandle program(clCreateProgramWithSource(context.get(), 1, &text, nullptr, &status));
  if (status != CL_SUCCESS || clBuildProgram(program.get(), 1, &device.id, "", nullptr, nullptr) != CL_SUCCESS) {
    return {false, "the probe kernel does not build"};
  }
  const KernelHandle kernel(clCreateKernel(program.get(), "through_host_address", &status));
  if (status != CL_SUCCESS) return {false, "the probe kernel is missing"};
  const std::size_t bytes = kCount * sizeof(float);
  std::vector<MemHandle> buffers;
  std::vector<float*> host;
  for (int i = 0; i < 2; ++i) {
    buffers.emplace_back(clCreateBuffer(context.get(), CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr, &status));
    if (status != CL_SUCCESS) return {false, "could not allocate pinned memory for the probe"};
    void* mapped = clEnqueueMapBuffer(queue.get(), buffers.back().get(), CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                      bytes, 0, nullptr, nullptr, &status);
    if (status != CL_SUCCESS) return {false, "could not map pinned memory for the probe"};
    host.push_back(static_cast<float*>(mapped));
  }
  const cl_ulong in_address = reinterpret_cast<std::uintptr_t>(host[0]);
  const cl_ulong out_address = reinterpret_cast<std::uintptr_t>(host[1]);
  const cl_int count = kCount;
  clSetKernelArg(kernel.get(), 0, sizeof in_address, &in_address);
  clSetKernelArg(kernel.get(), 1, sizeof out_address, &out_address);
  clSetKernelArg(kernel.get(), 2, sizeof count, &count);
  int wrong = 0;
  // Two rounds with new values: a driver that copies pinned memory to the device once (and the
  // kernel reading that copy) passes the first round and fails the second.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kCount; ++i) {
      host[0][i] = static_cast<float>(round * 4096 + i);
      host[1][i] = -1.0f;
    }
    const std::size_t global = kCount;
    status = clEnqueueNDRangeKernel(queue.get(), kernel.get(), 1, nullptr, &global, nullptr, 0, nullptr, nullptr);
    if (status == CL_SUCCESS) status = clFinish(queue.get());
    if (status != CL_SUCCESS) return {false, "the probe kernel failed (" + std::string(statusName(status)) + ")"};
    for (int i = 0; i < kCount; ++i) wrong += host[1][i] != host[0][i] * 2.0f + 1.0f;
  }
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    clEnqueueUnmapMemObject(queue.get(), buffers[i].get(), host[i], 0, nullptr, nullptr);
  }
  clFinish(queue.get());
  if (wrong != 0) return {false, "the probe kernel saw stale or wrong values (" + std::to_string(wrong) + " of " +
                                     std::to_string(2 * kCount) + ")"};
  return {true, "the probe kernel read and wrote pinned host memory correctly"};
}

Verdict decide(const DeviceInfo& device) {
  const bool candidate = device.type == DeviceType::kCPU || mentionsNvidia(device.vendor) ||
                         mentionsNvidia(device.platform_name);
  if (!candidate) {
    return {false, "only NVIDIA GPUs and CPU devices are probed (vendor '" + device.vendor + "')"};
  }
  if (std::optional<Verdict> earlier = readVerdict(device)) return *earlier;
  Verdict verdict;
  try {
    verdict = runProbe(device);
  } catch (const std::exception& error) {
    verdict = {false, std::string("the probe failed: ") + error.what()};
  }
  writeVerdict(device, verdict.allowed);
  return verdict;
}

const Verdict& cachedVerdict(const DeviceInfo& device) {
  std::lock_guard<std::mutex> lock(verdictMutex());
  auto found = verdicts().find(device.fingerprint());
  if (found == verdicts().end()) {
    Verdict verdict = decide(device);
    verdict.report = "pinned host addressing on " + device.name + ": " + (verdict.allowed ? "on" : "off") + ", " +
                     verdict.report;
    log(Severity::kVERBOSE, verdict.report);
    found = verdicts().emplace(device.fingerprint(), std::move(verdict)).first;
  }
  return found->second;
}

}  // namespace

bool kernelsReadPinnedHostMemory(const Context& context) {
  {
    std::lock_guard<std::mutex> lock(verdictMutex());
    if (overrideSetting()) return *overrideSetting();
  }
  if (disabledByEnvironment()) return false;
  return cachedVerdict(context.device()).allowed;
}

std::string pinnedHostAccessReport(const Context& context) {
  {
    std::lock_guard<std::mutex> lock(verdictMutex());
    if (overrideSetting()) return std::string("pinned host addressing forced ") + (*overrideSetting() ? "on" : "off");
  }
  if (disabledByEnvironment()) return "pinned host addressing off: MLPRT_HOST_ADDRESSING=" + std::string(std::getenv("MLPRT_HOST_ADDRESSING"));
  return cachedVerdict(context.device()).report;
}

void overridePinnedHostAccess(std::optional<bool> allowed) {
  std::lock_guard<std::mutex> lock(verdictMutex());
  overrideSetting() = allowed;
}

}  // namespace mlprt::cl
