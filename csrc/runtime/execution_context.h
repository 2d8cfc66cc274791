// An execution context: one engine's inference state (input shapes, tensor addresses, the
// activation arena, kernel objects). Several contexts of one engine run independently, on any
// threads; one context serves one thread at a time and refuses a second caller.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/launch_capture.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"
#include "runtime/engine.h"
#include "runtime/profiler.h"
#include "runtime/step_runner.h"

namespace mlprt::runtime {

class ExecutionContext {
 public:
  // With `allocate_device_memory` false (TensorRT's create_execution_context_without_device_memory)
  // the context runs only after setDeviceMemory gives it the engine's device_memory_size bytes.
  explicit ExecutionContext(std::shared_ptr<const Engine> engine, bool allocate_device_memory = true);

  const Engine& engine() const noexcept { return *engine_; }
  const std::shared_ptr<const Engine>& sharedEngine() const noexcept { return engine_; }

  // Sets the shape of an input for the next inference. Returns false (and logs an error naming
  // the input, the shape and the profile's range) when the shape is outside the active profile.
  bool setInputShape(const std::string& name, const Dims& shape);
  // Inputs: the shape set (the built shape, with -1, before that). Outputs: resolved when every
  // input shape is known, else the built shape.
  Dims tensorShape(const std::string& name);
  bool allInputShapesSpecified() const noexcept;
  // Names of inputs whose shape has not been set yet.
  std::vector<std::string> missingInputShapes() const;

  // `address` is a device address (an mlprt allocation, any offset inside it) or the host
  // address of pinned host memory (mlprt.driver.pagelocked_empty, cudaMallocHost). Kernels read
  // and write pinned memory directly where the device allows it and the step's kernel can
  // (host_access.h), else the context copies it in before and out after the inference.
  void setTensorAddress(const std::string& name, std::uint64_t address);
  std::uint64_t tensorAddress(const std::string& name) const;

  // Selects the optimization profile; input shapes must be set again for dynamic inputs.
  void setOptimizationProfile(int index);
  int activeOptimizationProfile() const noexcept { return profile_; }

  // Enqueues the whole inference on `stream` (execute_async_v3). Throws InvalidArgument naming
  // what is missing (a shape, an address) or wrong (an address whose allocation is too small).
  void enqueue(cl::Stream& stream);

  // Per-layer profiling (TensorRT's setProfiler). While a profiler is set, enqueue times every
  // step on the device (each kernel launch gets an event, which costs the host a few
  // microseconds per kernel) and, when enqueueEmitsProfile() is true (the default), waits for
  // the inference and reports each step before it returns: profiled enqueues are synchronous.
  // Null turns profiling off.
  void setProfiler(std::shared_ptr<Profiler> profiler) noexcept { profiler_ = std::move(profiler); }
  const std::shared_ptr<Profiler>& profiler() const noexcept { return profiler_; }
  void setEnqueueEmitsProfile(bool emits) noexcept { enqueue_emits_profile_ = emits; }
  bool enqueueEmitsProfile() const noexcept { return enqueue_emits_profile_; }
  // Waits for the last profiled inference and reports its steps to the profiler. False when
  // there is nothing to report: no profiler, or no profiled inference since the last report.
  bool reportToProfiler();

  // The tactic step `step` runs at the current input shapes (engine::tacticAt: the step's tactic
  // ranges where the builder gave it some); the built tactic before every input shape is set.
  const std::string& activeTactic(std::size_t step);

  // The device memory the context needs (the engine's device_memory_size), held or given.
  std::size_t deviceMemorySize() const noexcept { return engine_->deviceMemoryBytes(); }
  // Device memory that the user manages for this context (TensorRT's context.device_memory,
  // set_device_memory): `address` is an mlprt device address aligned to 256 bytes inside its
  // allocation, which must hold deviceMemorySize() bytes from there (`bytes`, when not 0, says
  // how many the caller gives). Replaces the memory the context held; the context keeps the
  // allocation alive. Contexts sharing memory must not run at the same time.
  void setDeviceMemory(std::uint64_t address, std::size_t bytes = 0);
  bool hasDeviceMemory() const noexcept { return arena_.buffer != nullptr; }
  // The kernels this context has used (the builder stores their programs in the engine).
  const cl::KernelCache& kernels() const noexcept { return kernels_; }

 private:
  class UseGuard;
  void resolveShapes();
  void checkSharedExtents() const;
  void requireResolvedShapes();
  cl::DeviceTensor deviceTensor(engine::TensorId id) const;
  cl::HostRange pinnedBinding(engine::TensorId id, const char* role) const;
  bool kernelsTakePinned(engine::TensorId id) const;
  void stageThroughDevice(engine::TensorId id, cl::DeviceTensor& tensor);
  std::size_t bytesOf(engine::TensorId id) const;
  void resetShapesForProfile();
  void prepareOperands();
  std::vector<cl_mem> lastingBuffers() const;
  void runSteps(cl::Stream& stream);
  void launchStep(cl::Stream& stream, std::size_t s);
  const engine::PlanStep& activeStep(std::size_t s) const;
  void chooseRangedTactics();

  std::shared_ptr<const Engine> engine_;
  cl::KernelCache kernels_;
  // Activations, then the steps' workspace (Engine::deviceMemoryBytes): the context's own
  // allocation, or memory the user gave (setDeviceMemory); no buffer until then.
  cl::DeviceRange arena_;
  int profile_ = 0;
  std::vector<Dims> input_shapes_;          // per network input; empty Dims until set
  std::vector<bool> input_shape_set_;
  std::vector<std::uint64_t> addresses_;    // per tensor id; 0 = not set (I/O tensors only)
  std::vector<Dims> shapes_;                // per tensor id, valid when shapes_valid_
  bool shapes_valid_ = false;
  // Every step's operands at the current shapes and bindings, reused by enqueue until a shape,
  // an address or the profile changes (building them per call costs more than a launch).
  std::vector<StepOperands> prepared_;
  // Per step with tactic ranges, a copy holding the tactic for the current shapes (chosen with the
  // prepared operands); empty entries for the other steps, which run as planned.
  std::vector<engine::PlanStep> ranged_steps_;
  // One engine input or output as prepared: its buffers (to notice a changed binding) and, for
  // pinned host memory, whether kernels use it directly or the context copies through `staged`.
  struct PreparedIo {
    engine::TensorId id = 0;
    bool input = true;
    std::shared_ptr<cl::DeviceBuffer> device;  // bound device memory, else null
    cl::HostRange pinned;                      // bound pinned host memory, else empty
    std::shared_ptr<cl::DeviceBuffer> staged;  // the device copy of pinned memory, else null
  };
  std::vector<PreparedIo> prepared_io_;  // inputs then outputs
  static bool preparedBindingLive(const PreparedIo& io);
  std::vector<std::shared_ptr<cl::DeviceBuffer>> staging_;  // per tensor id, reused across shapes
  bool prepared_valid_ = false;
  // Per step, its kernel launches captured at the first run with the prepared operands; later
  // runs replay them instead of running the step's launcher (launch_capture.h). Reset with the
  // prepared operands. MLPRT_LAUNCH_CAPTURE=0 turns this off (for diagnosis).
  std::vector<std::unique_ptr<cl::LaunchCapture>> captures_;
  bool capture_launches_ = true;
  // The results of the steps that depend only on input shapes (Engine::runsOncePerShapes) are in
  // the arena for these input shapes, left by the last complete run: later runs at the same
  // shapes skip those steps. MLPRT_SHAPE_STEPS_EVERY_RUN=1 runs them on every call (for diagnosis).
  bool shape_results_valid_ = false;
  std::vector<Dims> shape_results_inputs_;
  bool reuse_shape_results_ = true;
  // Profiling: the profiler, and each step of the last profiled inference with its timing.
  struct ProfiledStep {
    std::size_t step = 0;
    bool skipped = false;  // a shape-only step whose result was reused: reported as 0 ms
    cl::Event before, after;  // markers around the step
    cl::KernelTimingLog kernels;
  };
  void runProfiledStep(cl::Stream& stream, std::size_t s);
  void reportPendingProfile();
  std::shared_ptr<Profiler> profiler_;
  bool enqueue_emits_profile_ = true;
  std::vector<ProfiledStep> pending_profile_;
  std::atomic<bool> in_use_{false};
};

}  // namespace mlprt::runtime
