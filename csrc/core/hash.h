// FNV-1a, 64 bit: a fast, stable hash for cache keys and source fingerprints (not for security).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mlprt {

inline std::uint64_t fnv1a64(const void* data, std::size_t size,
                             std::uint64_t hash = 14695981039346656037ull) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

inline std::string hexHash(const std::string& text) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx",
                static_cast<unsigned long long>(fnv1a64(text.data(), text.size())));
  return buffer;
}

}  // namespace mlprt
