// RAII ownership of OpenCL objects. `Handle<cl_mem>` releases its object exactly once; copies
// retain it, so a handle can be shared the way a shared_ptr is.
#pragma once

#include <utility>

#include "backend/opencl/cl.h"

namespace mlprt::cl {

template <typename T>
struct HandleTraits;

#define MLPRT_CL_HANDLE_TRAITS(type, retain_fn, release_fn)   \
  template <>                                                 \
  struct HandleTraits<type> {                                 \
    static void retain(type object) { retain_fn(object); }    \
    static void release(type object) { release_fn(object); }  \
  };
MLPRT_CL_HANDLE_TRAITS(cl_context, clRetainContext, clReleaseContext)
MLPRT_CL_HANDLE_TRAITS(cl_command_queue, clRetainCommandQueue, clReleaseCommandQueue)
MLPRT_CL_HANDLE_TRAITS(cl_mem, clRetainMemObject, clReleaseMemObject)
MLPRT_CL_HANDLE_TRAITS(cl_program, clRetainProgram, clReleaseProgram)
MLPRT_CL_HANDLE_TRAITS(cl_kernel, clRetainKernel, clReleaseKernel)
MLPRT_CL_HANDLE_TRAITS(cl_event, clRetainEvent, clReleaseEvent)
#undef MLPRT_CL_HANDLE_TRAITS

template <typename T>
class Handle {
 public:
  Handle() = default;
  // Takes ownership of a reference the caller already holds (as clCreate* returns).
  explicit Handle(T object) noexcept : object_(object) {}
  Handle(const Handle& other) noexcept : object_(other.object_) {
    if (object_) HandleTraits<T>::retain(object_);
  }
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~Handle() { reset(); }

  void reset() noexcept {
    if (object_) HandleTraits<T>::release(std::exchange(object_, nullptr));
  }
  T get() const noexcept { return object_; }
  // For OpenCL calls that write a new object through an out-parameter.
  T* replace() noexcept {
    reset();
    return &object_;
  }
  explicit operator bool() const noexcept { return object_ != nullptr; }

 private:
  T object_ = nullptr;
};

using ContextHandle = Handle<cl_context>;
using QueueHandle = Handle<cl_command_queue>;
using MemHandle = Handle<cl_mem>;
using ProgramHandle = Handle<cl_program>;
using KernelHandle = Handle<cl_kernel>;
using EventHandle = Handle<cl_event>;

}  // namespace mlprt::cl
