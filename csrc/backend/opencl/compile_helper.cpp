#include "backend/opencl/compile_helper.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <thread>

#include "backend/opencl/context.h"
#include "backend/opencl/program.h"
#include "core/logging.h"

#if defined(__unix__) || defined(__APPLE__)
#define MLPRT_COMPILE_HELPERS 1
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
#endif

namespace mlprt::cl {
namespace {

std::mutex& pathMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string& configuredPath() {
  static std::string path;
  return path;
}

thread_local CompileHelper* active_helper = nullptr;

std::atomic<int> ready_seconds_for_testing{0};

// Message kinds of the protocol: the helper's first word (ready or failed), then per compile the
// parent's request and the helper's answer (compiled or not).
constexpr char kReady = 'R', kFailed = 'F', kCompiled = 'K', kNotCompiled = 'E';

#ifdef MLPRT_COMPILE_HELPERS

using Clock = std::chrono::steady_clock;

// The helper's end of its socket.
constexpr int kHelperSocket = 3;

bool sendAll(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t sent = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

// Reads exactly `size` bytes before `deadline`; false on the peer's end, an error or the deadline.
bool receiveAll(int fd, void* data, std::size_t size, Clock::time_point deadline) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd waiting{fd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (ready == 0) continue;
    const ssize_t got = ::read(fd, bytes, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

bool sendText(int fd, const std::string& text) {
  const std::uint64_t size = text.size();
  return sendAll(fd, &size, sizeof(size)) && sendAll(fd, text.data(), text.size());
}

bool receiveText(int fd, std::string& text, Clock::time_point deadline) {
  std::uint64_t size = 0;
  if (!receiveAll(fd, &size, sizeof(size), deadline) || size > (std::uint64_t{1} << 32)) return false;
  text.resize(static_cast<std::size_t>(size));
  return receiveAll(fd, text.data(), text.size(), deadline);
}

// The parent's environment with MLPRT_CACHE_DIR naming the cache above `cache_directory`.
std::vector<std::string> helperEnvironment(const std::string& cache_directory) {
  std::vector<std::string> variables;
  for (char** entry = environ; entry && *entry; ++entry) {
    if (std::strncmp(*entry, "MLPRT_CACHE_DIR=", 16) != 0) variables.emplace_back(*entry);
  }
  variables.push_back("MLPRT_CACHE_DIR=" + std::filesystem::path(cache_directory).parent_path().string());
  return variables;
}

#endif

}  // namespace

void setCompileHelperPath(const std::string& path) {
  const std::lock_guard<std::mutex> lock(pathMutex());
  configuredPath() = path;
}

std::string compileHelperPath() {
  if (const char* forced = std::getenv("MLPRT_COMPILE_HELPER")) return forced;
  const std::lock_guard<std::mutex> lock(pathMutex());
  return configuredPath();
}

CompileHelper::CompileHelper(int pid, int socket, std::string fingerprint)
    : pid_(pid), socket_(socket), fingerprint_(std::move(fingerprint)) {}

CompileHelper::~CompileHelper() { stop(); }

void CompileHelper::setReadySecondsForTesting(int seconds) noexcept { ready_seconds_for_testing = seconds; }

#ifdef MLPRT_COMPILE_HELPERS

std::unique_ptr<CompileHelper> CompileHelper::start(const DeviceInfo& device, const std::string& cache_directory) {
  const std::string path = compileHelperPath();
  if (path.empty() || cache_directory.empty() || ::access(path.c_str(), X_OK) != 0) return nullptr;
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return nullptr;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The socket as kHelperSocket; stdin, stdout and stderr on /dev/null, so that nothing a driver
  // prints reaches the protocol or the user (the parent reports what failed).
  posix_spawn_file_actions_adddup2(&actions, sockets[1], kHelperSocket);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = path, coordinates = device.coordinates();
  char* arguments[] = {program.data(), coordinates.data(), nullptr};
  std::vector<std::string> variables = helperEnvironment(cache_directory);
  std::vector<char*> environment;
  for (std::string& variable : variables) environment.push_back(variable.data());
  environment.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, arguments, environment.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(sockets[1]);
  if (spawned != 0) {
    ::close(sockets[0]);
    log(Severity::kVERBOSE, "compile helper " + path + " did not start: " + std::strerror(spawned));
    return nullptr;
  }
  return std::unique_ptr<CompileHelper>(new CompileHelper(static_cast<int>(pid), sockets[0], device.fingerprint()));
}

bool CompileHelper::ready() {
  if (checked_ready_) return !failed_;
  checked_ready_ = true;
  const int seconds = ready_seconds_for_testing > 0 ? ready_seconds_for_testing.load() : kReadySeconds;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(seconds);
  char kind = 0;
  std::string text;
  if (!receiveAll(socket_, &kind, 1, deadline) || !receiveText(socket_, text, deadline)) {
    failed_ = true;
    log(Severity::kVERBOSE, "compile helper " + std::to_string(pid_) + " did not start within " +
                                std::to_string(seconds) + " s");
    if (pid_ > 0) ::kill(pid_, SIGKILL);  // it exited, or hangs making its context: no grace
    stop();
  } else if (kind != kReady || text != fingerprint_) {
    failed_ = true;
    log(Severity::kVERBOSE, "compile helper " + std::to_string(pid_) + " refused: " +
                                (kind == kReady ? "its device is " + text : text));
  }
  return !failed_;
}

std::optional<double> CompileHelper::compile(const std::string& source, const std::string& options) {
  if (failed_ || !ready()) return std::nullopt;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(kAnswerSeconds);
  char kind = 0;
  std::uint64_t microseconds = 0;
  std::string message;
  const bool answered = sendText(socket_, options) && sendText(socket_, source) &&
                        receiveAll(socket_, &kind, 1, deadline) &&
                        (kind == kCompiled ? receiveAll(socket_, &microseconds, sizeof(microseconds), deadline)
                                           : receiveText(socket_, message, deadline));
  if (!answered) {
    failed_ = true;  // it stopped or hangs: the rest compiles in the parent
    log(Severity::kVERBOSE, "compile helper " + std::to_string(pid_) + " stopped answering");
    stop();
    return std::nullopt;
  }
  if (kind != kCompiled) return std::nullopt;  // the parent's own compile reports the log
  return static_cast<double>(microseconds) * 1e-6;
}

void CompileHelper::askToExit() noexcept {
  if (socket_ < 0) return;
  ::close(socket_);  // the helper reads its end and exits
  socket_ = -1;
  exit_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kExitSeconds));
}

void CompileHelper::stop() noexcept {
  askToExit();
  if (pid_ <= 0) return;
  int status = 0;
  for (;;) {  // an idle helper ends at once; a busy one (or one still starting) is stopped
    if (::waitpid(pid_, &status, WNOHANG) != 0) {
      pid_ = -1;
      return;
    }
    if (Clock::now() >= exit_deadline_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int runCompileHelper(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_DFL);
  const int in = kHelperSocket, out = kHelperSocket;
  const auto answer = [out](char kind, const std::string& text) {
    return sendAll(out, &kind, 1) && sendText(out, text);
  };
  if (argc != 2) {
    answer(kFailed, "usage: mlprt-compile-helper COORDINATES");
    return 2;
  }
  std::shared_ptr<Context> context;
  try {
    context = std::make_shared<Context>(findDevice(argv[1]));
  } catch (const std::exception& e) {
    answer(kFailed, e.what());
    return 1;
  }
  if (!answer(kReady, context->device().fingerprint())) return 1;
  const auto forever = Clock::time_point::max();
  for (;;) {
    std::string options, source;
    if (!receiveText(in, options, forever) || !receiveText(in, source, forever)) return 0;  // the parent is done
    try {
      const Clock::time_point started = Clock::now();
      Program::build(context, source, options);
      const auto microseconds = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
      const char kind = kCompiled;
      if (!sendAll(out, &kind, 1) || !sendAll(out, &microseconds, sizeof(microseconds))) return 1;
    } catch (const std::exception& e) {
      if (!answer(kNotCompiled, e.what())) return 1;
    }
    forgetPrograms(*context);  // each program is wanted once, from the disk cache
  }
}

#else

std::unique_ptr<CompileHelper> CompileHelper::start(const DeviceInfo&, const std::string&) { return nullptr; }
bool CompileHelper::ready() { return false; }
std::optional<double> CompileHelper::compile(const std::string&, const std::string&) { return std::nullopt; }
void CompileHelper::askToExit() noexcept {}
void CompileHelper::stop() noexcept {}
int runCompileHelper(int, char**) { return 2; }

#endif

CompileHelperPool::CompileHelperPool(const DeviceInfo& device, const std::string& cache_directory, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    std::unique_ptr<CompileHelper> helper = CompileHelper::start(device, cache_directory);
    if (!helper) break;
    helpers_.push_back(std::move(helper));
  }
}

CompileHelperPool::~CompileHelperPool() {
  for (const std::unique_ptr<CompileHelper>& helper : helpers_) helper->askToExit();
  helpers_.clear();
}

std::unique_ptr<CompileHelper> CompileHelperPool::take() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (helpers_.empty()) return nullptr;
  std::unique_ptr<CompileHelper> helper = std::move(helpers_.back());
  helpers_.pop_back();
  return helper;
}

std::size_t CompileHelperPool::size() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return helpers_.size();
}

CompileInHelper::CompileInHelper(CompileHelper* helper) noexcept : previous_(active_helper) { active_helper = helper; }

CompileInHelper::~CompileInHelper() { active_helper = previous_; }

CompileHelper* activeCompileHelper() noexcept { return active_helper; }

}  // namespace mlprt::cl
