#include "backend/opencl/program.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "backend/opencl/compile_helper.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/launch_capture.h"
#include "backend/opencl/ptx_patch.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/logging.h"

namespace mlprt::cl {
namespace {

namespace fs = std::filesystem;

// File layout: magic, key size, key, binary size, binary, FNV-1a hash of the binary. Drivers do
// not validate binaries (PoCL aborts on a damaged one), so the hash is checked before loading.
constexpr char kBinaryMagic[] = "MLPRT-CL-BINARY-1\n";

struct Counters {
  std::atomic<std::uint64_t> compiled{0};
  std::atomic<std::uint64_t> loaded_from_disk{0};
  std::atomic<std::uint64_t> reused_in_memory{0};
  std::atomic<std::uint64_t> installed_from_engine{0};
  std::atomic<std::uint64_t> compiled_by_helpers{0};
};

Counters& counters() {
  static Counters instance;
  return instance;
}

thread_local std::uint64_t compiled_on_this_thread = 0;
thread_local bool defer_waits_for_programs = false;

// Programs built in this process, per context and key; and the keys some thread is building now,
// in any context: a builder's threads ask for the same program at once (ResNet-50's cold build
// compiled 16 of its 46 programs twice, issue 16 run 23), so the others wait for that thread
// instead of compiling it again; a thread of another context (the compile pool's, tactic_choice.cpp)
// then loads it from the disk cache.
struct MemoryCache {
  using Key = std::pair<const Context*, std::string>;
  std::mutex mutex;
  std::map<Key, std::shared_ptr<const Program>> programs;
  std::set<std::string> building;
  std::uint64_t finished = 0;     // keys that left `building`
  std::condition_variable built;  // a key left `building`
};

// Marks a key as being built until it goes out of scope (built or not: a thread whose build
// threw lets the next waiter try, and report its own error).
class BuildingMark {
 public:
  BuildingMark(MemoryCache& memory, std::string key) : memory_(memory), key_(std::move(key)) {}
  BuildingMark(const BuildingMark&) = delete;
  BuildingMark& operator=(const BuildingMark&) = delete;
  ~BuildingMark() {
    {
      std::lock_guard<std::mutex> lock(memory_.mutex);
      memory_.building.erase(key_);
      ++memory_.finished;
    }
    memory_.built.notify_all();
  }

 private:
  MemoryCache& memory_;
  std::string key_;
};

MemoryCache& memoryCache() {
  static MemoryCache instance;
  return instance;
}

// Everything that decides what the compiler produces. Stored in full inside each cache file
// and compared on load, so a hash collision can never hand back the wrong binary.
std::string cacheKey(const DeviceInfo& device, const std::string& source, const std::string& options) {
  return "device=" + device.fingerprint() + "\nopencl=" + device.opencl_version +
         "\noptions=" + options + "\nsource=" + source;
}

fs::path cacheFile(const std::string& key) {
  const std::string directory = programCacheDirectory();
  if (directory.empty()) return {};
  return fs::path(directory) / (hexHash(key) + ".bin");
}

void writeU64(std::ostream& out, std::uint64_t value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(value));
}

// Reads a value and checks it against `limit` (sizes cannot exceed the file's own size).
bool readU64(std::istream& in, std::uint64_t& value, std::uint64_t limit) {
  in.read(reinterpret_cast<char*>(&value), sizeof(value));
  return in.good() && value <= limit;
}

// The binary stored for `key`, or empty if there is none or the file does not match. A file
// of another key (a hash collision) is ignored silently; a damaged one is reported.
std::vector<unsigned char> readCachedBinary(const fs::path& file, const std::string& key) {
  std::error_code error;
  const std::uintmax_t file_size = fs::file_size(file, error);
  if (error) return {};
  std::ifstream in(file, std::ios::binary);
  std::string magic(sizeof(kBinaryMagic) - 1, '\0');
  in.read(magic.data(), static_cast<std::streamsize>(magic.size()));
  std::uint64_t key_size = 0;
  std::string stored_key;
  if (in.good() && magic == kBinaryMagic && readU64(in, key_size, file_size)) {
    stored_key.resize(key_size);
    in.read(stored_key.data(), static_cast<std::streamsize>(key_size));
    if (in.good() && stored_key != key) return {};
  }
  std::uint64_t binary_size = 0;
  std::vector<unsigned char> binary;
  if (in.good() && stored_key == key && readU64(in, binary_size, file_size)) {
    binary.resize(binary_size);
    in.read(reinterpret_cast<char*>(binary.data()), static_cast<std::streamsize>(binary_size));
  }
  std::uint64_t stored_hash = 0;
  if (!in.good() || stored_key != key || !readU64(in, stored_hash, ~std::uint64_t{0}) ||
      stored_hash != fnv1a64(binary.data(), binary.size())) {
    log(Severity::kWARNING, "program cache: " + file.string() + " is damaged; recompiling");
    return {};
  }
  return binary;
}

// Writes atomically (temporary file, then rename) so a concurrent reader never sees half a file.
void writeCachedBinary(const fs::path& file, const std::string& key,
                       const std::vector<unsigned char>& binary) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  if (error) {
    log(Severity::kWARNING, "program cache: cannot create " + file.parent_path().string() + ": " +
                                error.message());
    return;
  }
  std::random_device random;
  const fs::path temporary = file.string() + ".tmp" + std::to_string(random());
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(kBinaryMagic, sizeof(kBinaryMagic) - 1);
    writeU64(out, key.size());
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
    writeU64(out, binary.size());
    out.write(reinterpret_cast<const char*>(binary.data()), static_cast<std::streamsize>(binary.size()));
    writeU64(out, fnv1a64(binary.data(), binary.size()));
    if (!out.good()) {
      log(Severity::kWARNING, "program cache: cannot write " + temporary.string());
      fs::remove(temporary, error);
      return;
    }
  }
  fs::rename(temporary, file, error);
  if (error) fs::remove(temporary, error);
}

std::string buildLog(cl_program program, cl_device_id device) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS) {
    return "(no build log)";
  }
  std::string text(size, '\0');
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, text.data(), nullptr);
  while (!text.empty() && (text.back() == '\0' || text.back() == '\n')) text.pop_back();
  return text;
}

// Returns the clBuildProgram status; the caller decides whether failure is an error.
cl_int buildFor(const Context& context, cl_program program, const std::string& options) {
  cl_device_id device = context.device().id;
  return clBuildProgram(program, 1, &device, options.c_str(), nullptr, nullptr);
}

// A program made from `binary` and built with `options`, and the first status that failed
// (CL_SUCCESS when none did); the program stays for its build log when the build failed.
struct BinaryBuild {
  ProgramHandle program;
  cl_int status = CL_SUCCESS;
};

BinaryBuild buildBinary(const Context& context, const std::vector<unsigned char>& binary, const std::string& options) {
  cl_device_id device = context.device().id;
  const unsigned char* data = binary.data();
  const size_t size = binary.size();
  cl_int binary_status = CL_SUCCESS;
  cl_int status = CL_SUCCESS;
  BinaryBuild built;
  built.program = ProgramHandle(clCreateProgramWithBinary(context.get(), 1, &device, &size, &data, &binary_status, &status));
  built.status = status != CL_SUCCESS ? status : binary_status;
  if (built.status == CL_SUCCESS) built.status = buildFor(context, built.program.get(), options);
  return built;
}

ProgramHandle fromBinary(const Context& context, const std::vector<unsigned char>& binary,
                         const std::string& options) {
  BinaryBuild built = buildBinary(context, binary, options);
  return built.status == CL_SUCCESS ? std::move(built.program) : ProgramHandle();
}

ProgramHandle fromSource(const Context& context, const std::string& source, const std::string& options) {
  const char* text = source.c_str();
  const size_t length = source.size();
  cl_int status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithSource(context.get(), 1, &text, &length, &status));
  check(status, "clCreateProgramWithSource");
  status = buildFor(context, program.get(), options);
  if (status != CL_SUCCESS) {
    throw BuildError("OpenCL program failed to build for '" + context.device().name + "' (" +
                     statusName(status) + ", options '" + options + "'):\n" +
                     buildLog(program.get(), context.device().id));
  }
  // A compiler that warns prints it on stderr too (PoCL: "1 warning generated."); the log names
  // the line, so the kernel source can be fixed.
  const std::string warnings = buildLog(program.get(), context.device().id);
  if (warnings.find("warning") != std::string::npos) {
    log(Severity::kVERBOSE, "program built with warnings (options '" + options + "'):\n" + warnings);
  }
  return program;
}

std::vector<unsigned char> binaryOf(cl_program program) {
  size_t size = 0;
  check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr),
        "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
  std::vector<unsigned char> binary(size);
  if (size == 0) return binary;
  unsigned char* data = binary.data();
  check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(data), &data, nullptr),
        "clGetProgramInfo(CL_PROGRAM_BINARIES)");
  return binary;
}

// A compiled program whose source carries wgmma placeholders, rebuilt from its patched PTX
// (ptx_patch.h) when the compiled text holds any: a family's other kernels and its emulated
// builds (-DMMA_EMULATE) preprocess them away and are returned as they are. Throws BuildError
// with the reason when the driver's binary is not PTX or the patched text does not build.
ProgramHandle withPatchedPtx(const Context& context, ProgramHandle compiled, const std::string& options) {
  const std::vector<unsigned char> binary = binaryOf(compiled.get());
  const std::string ptx(binary.begin(), std::find(binary.begin(), binary.end(), '\0'));
  if (!hasPtxPlaceholders(ptx)) return compiled;
  if (ptx.find(".target") == std::string::npos) {
    throw BuildError("wgmma kernels need a driver whose program binaries are PTX (NVIDIA's); '" +
                     context.device().name + "' gave another kind");
  }
  const std::string patched = patchPtx(ptx);
  const std::vector<unsigned char> text(patched.begin(), patched.end() + 1);  // with its terminating zero
  BinaryBuild built = buildBinary(context, text, options);
  if (built.status != CL_SUCCESS) {
    throw BuildError("the patched wgmma PTX failed to build for '" + context.device().name + "' (" +
                     statusName(built.status) + "):\n" +
                     (built.program ? buildLog(built.program.get(), context.device().id) : std::string("(no program)")));
  }
  return std::move(built.program);
}

}  // namespace

std::string programCacheDirectory() {
  fs::path base;
  if (const char* explicit_dir = std::getenv("MLPRT_CACHE_DIR"); explicit_dir && *explicit_dir) {
    base = explicit_dir;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    base = fs::path(xdg) / "mlprt";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = fs::path(home) / ".cache" / "mlprt";
  } else {
    return {};
  }
  return (base / "programs").string();
}

std::uint64_t programsCompiledOnThisThread() { return compiled_on_this_thread; }

std::shared_ptr<void> holdProgramAsBuilding(const std::shared_ptr<Context>& context, const std::string& source,
                                            const std::string& options) {
  MemoryCache& memory = memoryCache();
  std::string key = cacheKey(context->device(), source, options);
  std::unique_lock<std::mutex> lock(memory.mutex);
  memory.built.wait(lock, [&] { return memory.building.count(key) == 0; });
  memory.building.insert(key);
  return std::make_shared<BuildingMark>(memory, std::move(key));
}

void forgetPrograms(const Context& context) {
  MemoryCache& memory = memoryCache();
  const std::lock_guard<std::mutex> lock(memory.mutex);
  for (auto it = memory.programs.begin(); it != memory.programs.end();) {
    it = it->first.first == &context ? memory.programs.erase(it) : std::next(it);
  }
}

std::uint64_t programBuildsFinished() {
  MemoryCache& memory = memoryCache();
  const std::lock_guard<std::mutex> lock(memory.mutex);
  return memory.finished;
}

void waitForProgramBuildsAfter(std::uint64_t finished) {
  MemoryCache& memory = memoryCache();
  std::unique_lock<std::mutex> lock(memory.mutex);
  memory.built.wait(lock, [&] { return memory.finished > finished; });
}

DeferWaitsForPrograms::DeferWaitsForPrograms() : previous_(defer_waits_for_programs) {
  defer_waits_for_programs = true;
}

DeferWaitsForPrograms::~DeferWaitsForPrograms() { defer_waits_for_programs = previous_; }

ProgramCacheStats programCacheStats() {
  const Counters& counts = counters();
  return {counts.compiled.load(), counts.loaded_from_disk.load(), counts.reused_in_memory.load(),
          counts.installed_from_engine.load(), counts.compiled_by_helpers.load()};
}

Program::Program(std::shared_ptr<Context> context, ProgramHandle program, Origin origin)
    : context_(std::move(context)), program_(std::move(program)), origin_(origin) {}

std::vector<unsigned char> Program::binary() const { return binaryOf(program_.get()); }

bool Program::keepsBinaries(const DeviceInfo& device) {
  const char* setting = std::getenv("MLPRT_PROGRAM_BINARIES");
  if (setting && std::string(setting) == "1") return true;
  if (setting && std::string(setting) == "0") return false;
  return !device.binary_costs_a_compile;
}

namespace {

// The kernels a program defines, separated by ';' (empty if the driver does not say).
std::string kernelNamesOf(cl_program program) {
  std::size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::string names(size, '\0');
  if (clGetProgramInfo(program, CL_PROGRAM_KERNEL_NAMES, size, names.data(), nullptr) != CL_SUCCESS) return {};
  names.resize(names.find('\0') == std::string::npos ? names.size() : names.find('\0'));
  return names;
}

// Cold builds are mostly the driver's compiles (issue 16): a verbose logger sees each one.
void logCompile(cl_program program, const std::string& options, std::chrono::steady_clock::duration took) {
  if (!logEnabled(Severity::kVERBOSE)) return;
  const double milliseconds = std::chrono::duration<double, std::milli>(took).count();
  std::ostringstream message;
  message.precision(1);
  message << std::fixed << "program compiled in " << milliseconds << " ms: " << kernelNamesOf(program)
          << " [" << options << "]";
  log(Severity::kVERBOSE, message.str());
}

// The program compiled by `helper` into the disk cache (`file`) and loaded from there, counted and
// logged as a compile of this thread (in the same words, which bench/timing.py reads); null when
// the helper could not (the caller compiles).
std::shared_ptr<const Program> builtByHelper(CompileHelper& helper, const std::shared_ptr<Context>& context,
                                             const std::string& source, const std::string& options,
                                             const fs::path& file, const std::string& key) {
  const std::optional<double> seconds = helper.compile(source, options);
  if (!seconds) return nullptr;
  const std::vector<unsigned char> binary = readCachedBinary(file, key);
  ProgramHandle handle = binary.empty() ? ProgramHandle() : fromBinary(*context, binary, options);
  if (!handle) return nullptr;
  logCompile(handle.get(), options,
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*seconds)));
  ++counters().compiled;
  ++counters().compiled_by_helpers;
  ++compiled_on_this_thread;
  return std::make_shared<Program>(context, std::move(handle), Program::Origin::kCompiled);
}

}  // namespace

std::shared_ptr<const Program> Program::build(const std::shared_ptr<Context>& context,
                                              const std::string& source,
                                              const std::string& options) {
  const std::string key = cacheKey(context->device(), source, options);
  MemoryCache& memory = memoryCache();
  const MemoryCache::Key memory_key{context.get(), key};
  {
    std::unique_lock<std::mutex> lock(memory.mutex);
    for (;;) {
      auto found = memory.programs.find(memory_key);
      if (found != memory.programs.end()) {
        ++counters().reused_in_memory;
        return found->second;
      }
      if (memory.building.insert(key).second) break;  // this thread builds it
      if (defer_waits_for_programs) throw ProgramBuildingElsewhere{};
      memory.built.wait(lock);
    }
  }
  const BuildingMark mark(memory, key);

  const fs::path file = keepsBinaries(context->device()) ? cacheFile(key) : fs::path();
  std::shared_ptr<const Program> program;
  if (!file.empty()) {
    const std::vector<unsigned char> binary = readCachedBinary(file, key);
    if (!binary.empty()) {
      if (ProgramHandle handle = fromBinary(*context, binary, options)) {
        ++counters().loaded_from_disk;
        program = std::make_shared<Program>(context, std::move(handle), Origin::kDiskCache);
      } else {
        log(Severity::kWARNING, "program cache: " + file.string() + " was rejected by the driver; recompiling");
      }
    }
  }
  if (!program && !file.empty() && activeCompileHelper()) {
    program = builtByHelper(*activeCompileHelper(), context, source, options, file, key);
  }
  if (!program) {
    const auto started = std::chrono::steady_clock::now();
    ProgramHandle compiled = fromSource(*context, source, options);
    if (hasPtxPlaceholders(source)) compiled = withPatchedPtx(*context, std::move(compiled), options);
    logCompile(compiled.get(), options, std::chrono::steady_clock::now() - started);
    program = std::make_shared<Program>(context, std::move(compiled), Origin::kCompiled);
    ++counters().compiled;
    ++compiled_on_this_thread;
    if (!file.empty()) writeCachedBinary(file, key, program->binary());
  }

  std::lock_guard<std::mutex> lock(memory.mutex);
  return memory.programs.emplace(memory_key, program).first->second;
}

bool Program::install(const std::shared_ptr<Context>& context, const std::string& source,
                      const std::string& options, const std::vector<unsigned char>& binary) {
  const std::string key = cacheKey(context->device(), source, options);
  MemoryCache& memory = memoryCache();
  {
    std::lock_guard<std::mutex> lock(memory.mutex);
    if (memory.programs.count({context.get(), key}) != 0) return true;
  }
  if (binary.empty()) return false;
  ProgramHandle handle = fromBinary(*context, binary, options);
  if (!handle) return false;
  ++counters().installed_from_engine;
  auto program = std::make_shared<Program>(context, std::move(handle), Origin::kEngine);
  std::lock_guard<std::mutex> lock(memory.mutex);
  memory.programs.emplace(std::make_pair(context.get(), key), std::move(program));
  return true;
}

Kernel::Kernel(std::shared_ptr<const Program> program, const std::string& name)
    : program_(std::move(program)), name_(name) {
  cl_int status = CL_SUCCESS;
  kernel_ = KernelHandle(clCreateKernel(program_->get(), name.c_str(), &status));
  if (status == CL_INVALID_KERNEL_NAME) {
    throw InvalidArgument("the OpenCL program has no kernel named '" + name + "'");
  }
  check(status, "clCreateKernel(" + name + ")");
  check(clGetKernelInfo(kernel_.get(), CL_KERNEL_NUM_ARGS, sizeof(argument_count_), &argument_count_,
                        nullptr),
        "clGetKernelInfo");
  arguments_.resize(argument_count_);
}

// The setters and launch run for every kernel of every inference: their error messages are
// built only on failure.
void Kernel::setArgument(cl_uint index, std::size_t size, const void* value) {
  if (index >= argument_count_) {
    throw InvalidArgument("kernel '" + name_ + "' takes " + std::to_string(argument_count_) +
                          " arguments; argument " + std::to_string(index) + " does not exist");
  }
  const cl_int status = clSetKernelArg(kernel_.get(), index, size, value);
  if (status != CL_SUCCESS) {
    check(status, "setting argument " + std::to_string(index) + " of kernel '" + name_ + "' (" +
                      std::to_string(size) + " bytes)");
  }
  ArgumentValue& argument = arguments_[index];
  argument.set = true;
  argument.size = size;
  const auto* bytes = static_cast<const unsigned char*>(value);
  if (bytes) {
    argument.bytes.assign(bytes, bytes + size);
  } else {
    argument.bytes.clear();
  }
  argument.buffer = nullptr;
}

void Kernel::setBuffer(cl_uint index, const DeviceBuffer& buffer) {
  requireSameContext(*program_->context(), *buffer.context(), "kernel argument buffer");
  const cl_mem mem = buffer.mem();
  setArgument(index, sizeof(mem), &mem);
  arguments_[index].buffer = mem;
}

void Kernel::launch(Stream& stream, const std::vector<std::size_t>& global,
                     const std::vector<std::size_t>& local) {
  if (stream.context().get() != program_->context().get()) {
    requireSameContext(*stream.context(), *program_->context(), "kernel '" + name_ + "'");
  }
  if (global.empty() || global.size() > 3) {
    throw InvalidArgument("kernel '" + name_ + "': launch needs 1 to 3 global sizes, got " +
                          std::to_string(global.size()));
  }
  if (!local.empty() && local.size() != global.size()) {
    throw InvalidArgument("kernel '" + name_ + "': " + std::to_string(global.size()) +
                          " global sizes but " + std::to_string(local.size()) + " local sizes");
  }
  for (size_t axis = 0; axis < local.size(); ++axis) {
    if (local[axis] == 0 || global[axis] % local[axis] != 0) {
      throw InvalidArgument("kernel '" + name_ + "': global size " + std::to_string(global[axis]) +
                            " on axis " + std::to_string(axis) + " is not a multiple of local size " +
                            std::to_string(local[axis]));
    }
  }
  KernelTimingLog* timing = activeKernelTimingLog();
  if (timing) stream.enableTiming();  // the log reads its events' device times
  EventHandle event;
  const cl_int status = clEnqueueNDRangeKernel(stream.kernelQueue(), kernel_.get(), static_cast<cl_uint>(global.size()),
                                               nullptr, global.data(), local.empty() ? nullptr : local.data(), 0,
                                               nullptr, timing ? event.replace() : nullptr);
  if (status != CL_SUCCESS) check(status, "launching kernel '" + name_ + "'");
  if (timing) {
    timing->add(stream, std::move(event));
  } else {
    stream.trackUntracked();
  }
  if (LaunchCapture* capture = activeCapture()) capture->recordLaunch(*this, global, local);
}

}  // namespace mlprt::cl
