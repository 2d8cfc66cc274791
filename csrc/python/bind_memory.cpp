// Streams, events, device allocations, pinned host buffers viewed as NumPy arrays, and copies.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <sstream>

#include "backend/opencl/copy.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"
#include "core/error.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

using cl::DeviceBuffer;
using cl::DeviceRange;
using cl::PinnedHostBuffer;
using cl::Stream;

// A contiguous view of a Python object's memory (NumPy array, bytes, bytearray, memoryview...),
// held for the view's lifetime so the object cannot be resized or freed under a copy.
class HostView {
 public:
  HostView(const py::handle& object, bool writable, const std::string& role) {
    const int flags = PyBUF_ANY_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object.ptr(), &view_, flags) == 0) return;
    PyErr_Clear();
    if (PyObject_CheckBuffer(object.ptr()) == 0) {
      throw py::type_error(role + " must be a host array (NumPy array or buffer), not " +
                           std::string(py::str(py::type::of(object).attr("__name__"))));
    }
    if (writable) {
      Py_buffer probe;
      if (PyObject_GetBuffer(object.ptr(), &probe, PyBUF_ANY_CONTIGUOUS) == 0) {
        PyBuffer_Release(&probe);
        throw py::value_error(role + " is read-only");
      }
      PyErr_Clear();
    }
    std::string layout;
    if (py::hasattr(object, "shape") && py::hasattr(object, "strides")) {
      layout = " (shape " + std::string(py::str(object.attr("shape"))) + ", strides " +
               std::string(py::str(object.attr("strides"))) + ")";
    }
    throw py::value_error(role + " is not contiguous" + layout +
                          "; pass numpy.ascontiguousarray(array) instead");
  }
  ~HostView() { PyBuffer_Release(&view_); }
  HostView(const HostView&) = delete;
  HostView& operator=(const HostView&) = delete;

  void* data() const noexcept { return view_.buf; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(view_.len); }

 private:
  Py_buffer view_{};
};

// A device allocation object or an integer address (base plus offset) -> a checked range.
DeviceRange deviceRange(const py::handle& object, std::size_t bytes, const std::string& role) {
  if (py::isinstance<DeviceBuffer>(object)) {
    DeviceRange range{object.cast<std::shared_ptr<DeviceBuffer>>(), 0};
    cl::requireInside(range, bytes, role);
    return range;
  }
  if (py::isinstance<py::int_>(object)) {
    const long long address = object.cast<long long>();
    if (address < 0) throw py::value_error(role + ": a device address cannot be negative");
    return cl::resolveDeviceAddress(static_cast<std::uint64_t>(address), bytes, role);
  }
  throw py::type_error(role + " must be a DeviceAllocation or an integer device address, not " +
                       std::string(py::str(py::type::of(object).attr("__name__"))));
}

// What a host array is, for errors: "a float64 array of shape (4, 784), 25088 bytes".
std::string describeHostArray(const py::handle& array, std::size_t bytes) {
  std::string kind = "a " + std::string(py::str(py::type::of(array).attr("__name__")));
  if (py::hasattr(array, "dtype") && py::hasattr(array, "shape")) {
    kind = "a " + std::string(py::str(array.attr("dtype"))) + " array of shape " +
           std::string(py::str(array.attr("shape")));
  }
  return kind + ", " + std::to_string(bytes) + " bytes";
}

// The device side of a copy sized by a host array: a wrong dtype or shape shows up as a wrong
// byte count, so the error then also says what the host array is.
DeviceRange deviceRangeFor(const py::handle& device, const py::handle& array, std::size_t bytes,
                           const std::string& device_role, const char* array_role) {
  try {
    return deviceRange(device, bytes, device_role);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + " (the " + array_role + " is " + describeHostArray(array, bytes) + ")");
  }
}

// The stream a copy runs on: by default, that of the device that owns `range`.
std::shared_ptr<Stream> streamFor(const py::handle& stream, const DeviceRange& range) {
  return streamArgument(stream, range.buffer->context());
}

cl::CopyMode modeOf(bool asynchronous) {
  return asynchronous ? cl::CopyMode::kAsync : cl::CopyMode::kBlocking;
}

std::size_t checkedByteCount(long long count, const char* what) {
  if (count < 0) throw py::value_error(std::string(what) + " cannot be negative: " + std::to_string(count));
  return static_cast<std::size_t>(count);
}

std::vector<py::ssize_t> shapeFrom(const py::handle& shape) {
  std::vector<py::ssize_t> dims;
  if (py::isinstance<py::int_>(shape)) {
    dims.push_back(shape.cast<py::ssize_t>());
  } else {
    for (const py::handle& dim : py::iter(shape)) dims.push_back(dim.cast<py::ssize_t>());
  }
  for (py::ssize_t dim : dims) {
    if (dim < 0) throw py::value_error("shape " + std::string(py::str(shape)) + " has a negative dimension");
  }
  return dims;
}

py::array pagelockedEmpty(const py::handle& shape, const py::handle& dtype, const std::string& order) {
  if (order != "C" && order != "F") throw py::value_error("order must be 'C' or 'F', not '" + order + "'");
  const py::dtype type = py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype));
  if (type.attr("hasobject").cast<bool>()) {
    // Raw pinned bytes are not valid Python object references.
    throw py::value_error("pinned arrays cannot hold Python objects (dtype " +
                          std::string(py::str(type)) + ")");
  }
  const std::vector<py::ssize_t> dims = shapeFrom(shape);
  const std::size_t item = static_cast<std::size_t>(type.itemsize());
  std::size_t bytes = item;
  for (py::ssize_t dim : dims) {
    const auto extent = static_cast<std::size_t>(dim);
    if (extent != 0 && bytes > std::numeric_limits<std::size_t>::max() / extent) {
      throw py::value_error("shape " + std::string(py::str(shape)) + " is too large to allocate");
    }
    bytes *= extent;
  }
  std::vector<py::ssize_t> strides(dims.size());
  py::ssize_t stride = static_cast<py::ssize_t>(item);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const std::size_t axis = order == "C" ? dims.size() - 1 - i : i;
    strides[axis] = stride;
    stride *= std::max<py::ssize_t>(dims[axis], 1);
  }
  std::shared_ptr<PinnedHostBuffer> buffer;
  {
    py::gil_scoped_release release;
    buffer = PinnedHostBuffer::allocate(cl::Context::current(), bytes);
  }
  // The array views the pinned memory directly; the buffer object is its base and owner.
  return py::array(type, dims, strides, buffer->data(), py::cast(buffer));
}

struct PyEvent {
  cl::Event event;
  bool timing = true;  // pycuda's event_flags.DISABLE_TIMING (2) turns it off
};

constexpr int kEventDisableTiming = 2;

double elapsedMilliseconds(const PyEvent& start, const PyEvent& end) {
  if (!start.timing || !end.timing) {
    throw InvalidArgument("elapsed time between events: the " + std::string(start.timing ? "end" : "start") +
                          " event was created with DISABLE_TIMING");
  }
  return cl::Event::elapsedMilliseconds(start.event, end.event);
}

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

void bindStreamAndEvent(py::module_& module) {
  py::class_<Stream, std::shared_ptr<Stream>>(module, "Stream",
                                               "An in-order queue of copies and kernels on one device.")
      .def(py::init([] { return Stream::create(cl::Context::current()); }))
      .def_property_readonly("handle", &Stream::handle,
                             "Integer handle, accepted wherever a stream_handle is.")
      .def("synchronize", &Stream::synchronize, py::call_guard<py::gil_scoped_release>(),
           "Blocks until all work queued on the stream has finished.")
      .def("is_done", &Stream::idle, py::call_guard<py::gil_scoped_release>(),
           "True when all queued work has finished.")
      .def_property_readonly("device", [](const Stream& s) { return s.context()->device(); })
      .def_property_readonly("timed", &Stream::timed,
                             "True once a timing event or a profiler has moved the stream to a "
                             "profiling queue (mlprt's own; copies cost more host time there).")
      .def_static("from_handle", &Stream::fromHandle, py::arg("handle"))
      .def("__repr__", [](const Stream& s) {
        return "<mlprt Stream " + std::to_string(s.handle()) + " on '" + s.context()->device().name + "'>";
      });

  py::class_<PyEvent>(module, "Event",
                      "A marker in a stream; two give elapsed device time. Recording a timing "
                      "event moves its stream to a profiling queue (each later copy there costs "
                      "a few microseconds more on NVIDIA); flags=2 (DISABLE_TIMING) does not.")
      .def(py::init([](int flags) {
             if (flags < 0 || (flags & ~7) != 0) {
               throw InvalidArgument("Event flags " + std::to_string(flags) +
                                     ": expected a combination of DEFAULT (0), BLOCKING_SYNC (1), "
                                     "DISABLE_TIMING (2) and INTERPROCESS (4)");
             }
             return PyEvent{cl::Event(), (flags & kEventDisableTiming) == 0};
           }),
           py::arg("flags") = 0)
      .def(
          "record",
          [](PyEvent& self, const py::handle& stream) -> PyEvent& {
            const std::shared_ptr<Stream> target = streamArgument(stream, cl::Context::current());
            self.event = self.timing ? target->recordTimed() : target->record();
            target->flush();
            return self;
          },
          py::arg("stream") = py::none(), py::return_value_policy::reference_internal)
      .def("synchronize", [](const PyEvent& self) { self.event.wait(); },
           py::call_guard<py::gil_scoped_release>())
      .def("query", [](const PyEvent& self) { return self.event.complete(); })
      .def("time_since",
           [](const PyEvent& self, const PyEvent& start) {
             return elapsedMilliseconds(start, self);
           },
           py::arg("start"), py::call_guard<py::gil_scoped_release>(),
           "Milliseconds of device time from start to this event.")
      .def("time_till",
           [](const PyEvent& self, const PyEvent& end) {
             return elapsedMilliseconds(self, end);
           },
           py::arg("end"), py::call_guard<py::gil_scoped_release>(),
           "Milliseconds of device time from this event to end.");
}

void bindBuffers(py::module_& module) {
  py::class_<DeviceBuffer, std::shared_ptr<DeviceBuffer>>(module, "DeviceAllocation",
                                                         "Device memory; int() gives its address.")
      .def("__int__", &DeviceBuffer::address)
      .def("__index__", &DeviceBuffer::address)
      .def_property_readonly("size", &DeviceBuffer::size, "Size in bytes.")
      .def_property_readonly("nbytes", &DeviceBuffer::size, "Size in bytes.")
      .def_property_readonly("freed", &DeviceBuffer::freed)
      .def_property_readonly("device", [](const DeviceBuffer& b) { return b.context()->device(); })
      .def("free", &DeviceBuffer::free, "Releases the memory now; the address stops being valid.")
      .def("__enter__", [](const std::shared_ptr<DeviceBuffer>& self) { return self; })
      .def("__exit__", [](DeviceBuffer& self, const py::args&) { self.free(); })
      .def("__repr__", [](const DeviceBuffer& b) {
        return "<mlprt DeviceAllocation " + hex(b.address()) + " of " + std::to_string(b.size()) +
               " bytes" + (b.freed() ? ", freed>" : ">");
      });

  py::class_<PinnedHostBuffer, std::shared_ptr<PinnedHostBuffer>>(
      module, "PinnedHostBuffer", py::buffer_protocol(),
      "Page-locked host memory, mapped for its lifetime; the base of pagelocked arrays.")
      .def_buffer([](PinnedHostBuffer& b) {
        return py::buffer_info(b.data(), 1, py::format_descriptor<std::uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.size())}, {py::ssize_t{1}});
      })
      .def_property_readonly("nbytes", &PinnedHostBuffer::size)
      .def_property_readonly("ptr", [](const PinnedHostBuffer& b) {
        return reinterpret_cast<std::uintptr_t>(b.data());
      }, "Host address of the first byte.")
      .def("get_device_pointer", [](const PinnedHostBuffer& b) {
        return reinterpret_cast<std::uintptr_t>(b.data());
      }, "The address to bind with set_tensor_address for zero-copy inputs and outputs (as "
         "pycuda's HostAllocation.get_device_pointer): pinned memory is addressed by its host "
         "address, as under CUDA's unified addressing.")
      .def("__repr__", [](const PinnedHostBuffer& b) {
        return "<mlprt PinnedHostBuffer " + hex(reinterpret_cast<std::uintptr_t>(b.data())) + " of " +
               std::to_string(b.size()) + " bytes>";
      });

  module.def(
      "mem_alloc",
      [](long long bytes) {
        const std::size_t size = checkedByteCount(bytes, "allocation size");
        py::gil_scoped_release release;
        return DeviceBuffer::allocate(cl::Context::current(), size);
      },
      py::arg("nbytes"), "Allocates device memory on the current device.");
  module.def("finish_streams", &Stream::finishAll, py::call_guard<py::gil_scoped_release>(),
             "Waits for every live stream's commands (mlprt registers it with Python's atexit).");
  module.def("pagelocked_empty", &pagelockedEmpty, py::arg("shape"), py::arg("dtype"),
             py::arg("order") = "C",
             "A NumPy array whose memory is a new pinned host buffer (uninitialized).");
  module.def("is_pinned_address", [](std::uint64_t address) {
    return static_cast<bool>(cl::findPinned(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(address)), 0));
  }, py::arg("address"), "True when the host address lies in a live pinned host buffer.");
  module.def("is_pinned", [](const py::handle& array) {
    HostView view(array, false, "array");
    return static_cast<bool>(cl::findPinned(view.data(), view.size()));
  }, py::arg("array"), "True when all of the array's memory lies in one pinned host buffer.");
}

void bindCopies(py::module_& module) {
  module.def(
      "memcpy_htod",
      [](const py::handle& destination, const py::handle& source, const py::handle& stream,
         bool asynchronous) {
        HostView host(source, false, "source");
        const DeviceRange range = deviceRangeFor(destination, source, host.size(), "destination", "source");
        const std::shared_ptr<Stream> queue = streamFor(stream, range);
        py::gil_scoped_release release;
        cl::copyHostToDevice(*queue, range, host.data(), host.size(), modeOf(asynchronous));
      },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none(), py::arg("asynchronous") = false);
  module.def(
      "memcpy_dtoh",
      [](const py::handle& destination, const py::handle& source, const py::handle& stream,
         bool asynchronous) {
        HostView host(destination, true, "destination");
        const DeviceRange range = deviceRangeFor(source, destination, host.size(), "source", "destination");
        const std::shared_ptr<Stream> queue = streamFor(stream, range);
        py::gil_scoped_release release;
        cl::copyDeviceToHost(*queue, host.data(), range, host.size(), modeOf(asynchronous));
      },
      py::arg("dest"), py::arg("src"), py::arg("stream") = py::none(), py::arg("asynchronous") = false);
  module.def(
      "memcpy_dtod",
      [](const py::handle& destination, const py::handle& source, long long bytes,
         const py::handle& stream, bool asynchronous) {
        const std::size_t size = checkedByteCount(bytes, "copy size");
        const DeviceRange to = deviceRange(destination, size, "destination");
        const DeviceRange from = deviceRange(source, size, "source");
        const std::shared_ptr<Stream> queue = streamFor(stream, to);
        py::gil_scoped_release release;
        cl::copyDeviceToDevice(*queue, to, from, size, modeOf(asynchronous));
      },
      py::arg("dest"), py::arg("src"), py::arg("nbytes"), py::arg("stream") = py::none(),
      py::arg("asynchronous") = false);
  module.def(
      "memset",
      [](const py::handle& destination, unsigned long long value, int item_size, long long count,
         const py::handle& stream, bool asynchronous) {
        if (item_size != 1 && item_size != 2 && item_size != 4) {
          throw py::value_error("memset item size must be 1, 2 or 4 bytes");
        }
        if (value >> (8 * item_size) != 0) {
          throw py::value_error("memset value " + std::to_string(value) + " does not fit in " +
                                std::to_string(item_size) + " bytes");
        }
        const std::size_t bytes = checkedByteCount(count, "memset count") * static_cast<std::size_t>(item_size);
        const DeviceRange range = deviceRange(destination, bytes, "destination");
        const std::shared_ptr<Stream> queue = streamFor(stream, range);
        const auto pattern = static_cast<std::uint32_t>(value);  // little-endian low bytes
        py::gil_scoped_release release;
        cl::fillDevice(*queue, range, &pattern, static_cast<std::size_t>(item_size), bytes,
                       modeOf(asynchronous));
      },
      py::arg("dest"), py::arg("value"), py::arg("item_size"), py::arg("count"),
      py::arg("stream") = py::none(), py::arg("asynchronous") = false);
}

}  // namespace

std::shared_ptr<cl::Stream> streamArgument(const py::handle& stream,
                                       const std::shared_ptr<cl::Context>& fallback) {
  if (stream.is_none()) return Stream::defaultFor(fallback);
  if (py::isinstance<Stream>(stream)) return stream.cast<std::shared_ptr<Stream>>();
  if (py::isinstance<py::int_>(stream)) {
    const long long handle = stream.cast<long long>();
    if (handle < 0) throw py::value_error("a stream handle cannot be negative");
    return Stream::fromHandle(static_cast<std::uint64_t>(handle));
  }
  throw py::type_error("stream must be a Stream, an integer stream handle or None");
}

void bindMemory(py::module_& module) {
  bindStreamAndEvent(module);
  bindBuffers(module);
  bindCopies(module);
}

}  // namespace mlprt::python
