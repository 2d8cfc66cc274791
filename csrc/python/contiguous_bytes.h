// The bytes of a Python buffer argument (bytes, bytearray, memoryview, NumPy array, IHostMemory)
// for functions that read them as one flat run of memory: engine files and timing caches.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace mlprt::python {

// Requests `data`'s buffer and checks that its bytes lie contiguously in C order: a strided or
// reversed view (array[::2], array[::-1]) would otherwise be read as the memory that follows
// its first element. Raises ValueError naming `role` and the strides.
inline pybind11::buffer_info contiguousBytes(const pybind11::buffer& data, const std::string& role) {
  pybind11::buffer_info info = data.request();
  pybind11::ssize_t expected = info.itemsize;
  for (pybind11::ssize_t axis = info.ndim - 1; axis >= 0; --axis) {
    const auto index = static_cast<std::size_t>(axis);
    if (info.shape[index] > 1 && info.strides[index] != expected) {
      std::string strides;
      for (pybind11::ssize_t stride : info.strides) strides += (strides.empty() ? "" : ", ") + std::to_string(stride);
      throw pybind11::value_error(role + " is not contiguous in memory (strides (" + strides +
                                  ")); pass bytes(data) or numpy.ascontiguousarray(data)");
    }
    expected *= info.shape[index];
  }
  return info;
}

}  // namespace mlprt::python
