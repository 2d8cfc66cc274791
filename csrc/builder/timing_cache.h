// The timing cache: the tactic chosen for each layer signature on each device, so that a
// second build of the same (or a similar) network skips timing. Serializable; caches of
// different devices can be combined only when the caller ignores the mismatch.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mlprt::builder {

struct TimingEntry {
  std::string tactic;
  double milliseconds = 0.0;
};

class TimingCache {
 public:
  // An empty cache (no bytes) or a serialized one. Throws InvalidArgument for bytes that are not
  // a timing cache, are truncated or damaged.
  static TimingCache fromBytes(const std::uint8_t* data, std::size_t size);

  TimingCache() = default;
  TimingCache(const TimingCache& other);
  TimingCache& operator=(const TimingCache& other);

  std::vector<std::uint8_t> serialize() const;
  // Adds the entries of `other` that this cache lacks. Caches of another device are refused
  // (returns false) unless `ignore_mismatch`.
  bool combine(const TimingCache& other, bool ignore_mismatch);

  // Device fingerprint of the entries, empty while there are none.
  std::string device() const;
  // Claims the cache for `device`; false when it holds entries of another device.
  bool matchesOrAdopt(const std::string& device);
  bool lookup(const std::string& key, TimingEntry& entry) const;
  void store(const std::string& key, const TimingEntry& entry);
  std::size_t size() const;
  // Every key, in order (tools and tests look entries up by what a key contains).
  std::vector<std::string> keys() const;
  // Counters for tests and logs.
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  mutable std::mutex mutex_;
  std::string device_;
  std::map<std::string, TimingEntry> entries_;
  mutable std::uint64_t hits_ = 0;
  mutable std::uint64_t misses_ = 0;
};

}  // namespace mlprt::builder
