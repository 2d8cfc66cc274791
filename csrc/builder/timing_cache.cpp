#include "builder/timing_cache.h"

#include <cstring>

#include "core/error.h"
#include "core/hash.h"

namespace mlprt::builder {
namespace {

// Layout: "MLPRTTC1", payload size (u64), FNV-1a of the payload (u64), payload. Payload: device
// string, entry count (u64), then per entry key string, tactic string, milliseconds (f64).
// Strings are a u64 length and the bytes; integers little-endian as the host writes them.
constexpr char kMagic[8] = {'M', 'L', 'P', 'R', 'T', 'T', 'C', '1'};

void putU64(std::vector<std::uint8_t>& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void putString(std::vector<std::uint8_t>& out, const std::string& text) {
  putU64(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint64_t u64(const char* what) {
    need(8, what);
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(data_[position_ + i]) << (8 * i);
    position_ += 8;
    return value;
  }
  std::string string(const char* what) {
    const std::uint64_t length = u64(what);
    need(length, what);
    std::string text(reinterpret_cast<const char*>(data_ + position_), static_cast<std::size_t>(length));
    position_ += static_cast<std::size_t>(length);
    return text;
  }
  double f64(const char* what) {
    const std::uint64_t bits = u64(what);
    double value = 0.0;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
  }
  std::size_t remaining() const { return size_ - position_; }

 private:
  void need(std::uint64_t bytes, const char* what) const {
    if (bytes > size_ - position_) {
      throw InvalidArgument(std::string("timing cache is truncated (reading ") + what + " at byte " +
                            std::to_string(position_) + ")");
    }
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace

TimingCache::TimingCache(const TimingCache& other) {
  std::lock_guard<std::mutex> lock(other.mutex_);
  device_ = other.device_;
  entries_ = other.entries_;
}

TimingCache& TimingCache::operator=(const TimingCache& other) {
  if (this == &other) return *this;
  TimingCache copy(other);
  std::lock_guard<std::mutex> lock(mutex_);
  device_ = std::move(copy.device_);
  entries_ = std::move(copy.entries_);
  return *this;
}

TimingCache TimingCache::fromBytes(const std::uint8_t* data, std::size_t size) {
  TimingCache cache;
  if (size == 0) return cache;
  if (size < 24 || std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    throw InvalidArgument("not an mlprt timing cache (" + std::to_string(size) + " bytes without the MLPRTTC1 header)");
  }
  Reader header(data + 8, 16);
  const std::uint64_t payload_size = header.u64("payload size");
  const std::uint64_t hash = header.u64("checksum");
  if (payload_size != size - 24) {
    throw InvalidArgument("timing cache is truncated: its header announces " + std::to_string(payload_size) +
                          " bytes of entries, " + std::to_string(size - 24) + " are present");
  }
  if (fnv1a64(data + 24, static_cast<std::size_t>(payload_size)) != hash) {
    throw InvalidArgument("timing cache is corrupted: checksum mismatch");
  }
  Reader reader(data + 24, static_cast<std::size_t>(payload_size));
  cache.device_ = reader.string("device");
  const std::uint64_t count = reader.u64("entry count");
  if (count > reader.remaining() / 24) throw InvalidArgument("timing cache entry count is implausible");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key = reader.string("entry key");
    TimingEntry entry;
    entry.tactic = reader.string("entry tactic");
    entry.milliseconds = reader.f64("entry time");
    cache.entries_[key] = entry;
  }
  return cache;
}

std::vector<std::uint8_t> TimingCache::serialize() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::uint8_t> payload;
  putString(payload, device_);
  putU64(payload, entries_.size());
  for (const auto& [key, entry] : entries_) {
    putString(payload, key);
    putString(payload, entry.tactic);
    std::uint64_t bits = 0;
    std::memcpy(&bits, &entry.milliseconds, sizeof(bits));
    putU64(payload, bits);
  }
  std::vector<std::uint8_t> out(kMagic, kMagic + sizeof(kMagic));
  putU64(out, payload.size());
  putU64(out, fnv1a64(payload.data(), payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bool TimingCache::combine(const TimingCache& other, bool ignore_mismatch) {
  if (&other == this) return true;
  TimingCache copy(other);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!copy.device_.empty() && !device_.empty() && copy.device_ != device_ && !ignore_mismatch) return false;
  if (device_.empty()) device_ = copy.device_;
  for (const auto& [key, entry] : copy.entries_) entries_.emplace(key, entry);
  return true;
}

std::string TimingCache::device() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return device_;
}

bool TimingCache::matchesOrAdopt(const std::string& device) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_.empty()) {
    device_ = device;
    return true;
  }
  return device_ == device;
}

bool TimingCache::lookup(const std::string& key, TimingEntry& entry) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    ++misses_;
    return false;
  }
  ++hits_;
  entry = found->second;
  return true;
}

void TimingCache::store(const std::string& key, const TimingEntry& entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[key] = entry;
}

std::size_t TimingCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::vector<std::string> TimingCache::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& entry : entries_) names.push_back(entry.first);
  return names;
}

std::uint64_t TimingCache::hits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hits_;
}

std::uint64_t TimingCache::misses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return misses_;
}

}  // namespace mlprt::builder
