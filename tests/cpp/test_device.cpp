// Device discovery and selection: listDevices, findDevice, defaultDevice, Context.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "backend/opencl/context.h"
#include "backend/opencl/device.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceInfo;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Alternates the case of the letters, so "pthread-cpu" becomes "PtHrEaD-CpU".
std::string mixedCase(std::string text) {
  bool upper = true;
  for (char& c : text) {
    if (!std::isalpha(static_cast<unsigned char>(c))) continue;
    const auto byte = static_cast<unsigned char>(c);
    c = static_cast<char>(upper ? std::toupper(byte) : std::tolower(byte));
    upper = !upper;
  }
  return text;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Device, ListIsNonEmptyWithConsistentIndices) {
  const auto& devices = cl::listDevices();
  ASSERT_FALSE(devices.empty());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const DeviceInfo& device = devices[i];
    SCOPED_TRACE(device.name);
    EXPECT_EQ(device.index, static_cast<int>(i));
    EXPECT_NE(device.id, nullptr);
    EXPECT_NE(device.platform, nullptr);
    EXPECT_FALSE(device.name.empty());
    EXPECT_GT(device.max_allocation, 0u);
    EXPECT_GE(device.global_memory, device.max_allocation);
    EXPECT_GT(device.compute_units, 0u);
    EXPECT_EQ(device.coordinates(),
              std::to_string(device.platform_index) + ":" + std::to_string(device.device_index));
    EXPECT_TRUE(contains(device.fingerprint(), device.name));
    EXPECT_TRUE(contains(device.fingerprint(), device.driver_version));
    if (i > 0) {
      // Platform then device order, without gaps inside a platform.
      const DeviceInfo& previous = devices[i - 1];
      if (previous.platform_index == device.platform_index) {
        EXPECT_EQ(device.device_index, previous.device_index + 1);
      } else {
        EXPECT_GT(device.platform_index, previous.platform_index);
        EXPECT_EQ(device.device_index, 0);
      }
    }
  }
}

TEST(Device, ListIsEnumeratedOnce) {
  EXPECT_EQ(&cl::listDevices(), &cl::listDevices());
  EXPECT_EQ(cl::listDevices().data(), cl::listDevices().data());
}

TEST(Device, FindByFlatIndex) {
  for (const DeviceInfo& device : cl::listDevices()) {
    EXPECT_EQ(&cl::findDevice(std::to_string(device.index)), &device);
  }
  EXPECT_EQ(&cl::findDevice(" 0 "), &cl::listDevices().front());  // surrounding blanks ignored
}

TEST(Device, FindByCoordinates) {
  for (const DeviceInfo& device : cl::listDevices()) {
    EXPECT_EQ(&cl::findDevice(device.coordinates()), &device) << device.coordinates();
  }
}

TEST(Device, FindByCaseInsensitiveNameSubstring) {
  for (const DeviceInfo& device : cl::listDevices()) {
    const std::string needle = device.name.size() > 4
                                   ? device.name.substr(1, device.name.size() - 2)
                                   : device.name;
    const DeviceInfo& found = cl::findDevice(mixedCase(needle));
    // An earlier device may share the substring; the first match wins.
    EXPECT_LE(found.index, device.index);
    EXPECT_TRUE(contains(lower(found.name), lower(needle))) << found.name << " vs " << needle;
    EXPECT_EQ(&cl::findDevice(device.name), &cl::findDevice(lower(device.name)));
  }
}

TEST(Device, FindByPlatformNameSubstring) {
  const std::string needle = lower(cl::listDevices().front().platform_name);
  const DeviceInfo& found = cl::findDevice(mixedCase(needle));
  // Device names are searched before platform names.
  EXPECT_TRUE(contains(lower(found.name), needle) || contains(lower(found.platform_name), needle))
      << found.name << " (" << found.platform_name << ")";
}

// PoCL 3.x names its platform "Portable Computing Language" and its devices "pthread-<cpu>":
// the documented selector "pocl" must still find it (through the version string).
TEST(Device, FindsPoclByDocumentedSelector) {
  const auto& devices = cl::listDevices();
  const bool has_pocl = std::any_of(devices.begin(), devices.end(), [](const DeviceInfo& device) {
    return contains(lower(device.opencl_version), "pocl");
  });
  if (!has_pocl) GTEST_SKIP() << "no PoCL device";
  const DeviceInfo* found = nullptr;
  EXPECT_NO_THROW(found = &cl::findDevice("pocl"));
  if (found) {
    EXPECT_TRUE(contains(lower(found->opencl_version), "pocl"));
  }
}

TEST(Device, UnknownSelectorListsAvailableDevices) {
  const std::string selector = "no-such-device-xyzzy";
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::findDevice(selector); }, selector));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::findDevice(selector); }, "available devices"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::findDevice(selector); },
                                          cl::listDevices().front().name));
}

TEST(Device, OutOfRangeIndexAndCoordinatesThrow) {
  const std::string index = std::to_string(cl::listDevices().size());
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::findDevice(index); }, "available devices"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::findDevice("99:0"); }, "'99:0'"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::findDevice("0:99"); }, "'0:99'"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::findDevice(""); }, "available devices"));
}

TEST(Device, DefaultDeviceWithoutSelectorPrefersGpuThenCpu) {
  const ScopedEnv unset("MLPRT_DEVICE", std::nullopt);
  const auto& devices = cl::listDevices();
  const DeviceInfo& chosen = cl::defaultDevice();
  const auto first_of = [&](cl::DeviceType type) -> const DeviceInfo* {
    const auto found = std::find_if(devices.begin(), devices.end(),
                                    [type](const DeviceInfo& device) { return device.type == type; });
    return found == devices.end() ? nullptr : &*found;
  };
  if (const DeviceInfo* gpu = first_of(cl::DeviceType::kGPU)) {
    EXPECT_EQ(&chosen, gpu);
  } else if (const DeviceInfo* cpu = first_of(cl::DeviceType::kCPU)) {
    EXPECT_EQ(&chosen, cpu);
  } else {
    EXPECT_EQ(&chosen, &devices.front());
  }
  // An empty selector counts as unset.
  const ScopedEnv empty("MLPRT_DEVICE", std::string());
  EXPECT_EQ(&cl::defaultDevice(), &chosen);
}

TEST(Device, DefaultDeviceHonoursMlprtDevice) {
  for (const DeviceInfo& device : cl::listDevices()) {
    {
      const ScopedEnv selector("MLPRT_DEVICE", std::to_string(device.index));
      EXPECT_EQ(&cl::defaultDevice(), &device);
    }
    {
      const ScopedEnv selector("MLPRT_DEVICE", device.coordinates());
      EXPECT_EQ(&cl::defaultDevice(), &device);
    }
  }
}

TEST(Device, BadMlprtDeviceThrowsNamingTheVariable) {
  const ScopedEnv selector("MLPRT_DEVICE", std::string("bogus-device-42"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::defaultDevice(); }, "MLPRT_DEVICE"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::defaultDevice(); }, "bogus-device-42"));
}

TEST(Device, DeviceTypeNames) {
  EXPECT_STREQ(cl::deviceTypeName(cl::DeviceType::kGPU), "GPU");
  EXPECT_STREQ(cl::deviceTypeName(cl::DeviceType::kCPU), "CPU");
  EXPECT_STREQ(cl::deviceTypeName(cl::DeviceType::kAccelerator), "ACCELERATOR");
  EXPECT_STREQ(cl::deviceTypeName(cl::DeviceType::kOther), "OTHER");
}

TEST(Context, ForDeviceIsSharedPerDevice) {
  const DeviceInfo& device = cl::Context::currentDevice();
  const auto first = cl::Context::forDevice(device);
  const auto second = cl::Context::forDevice(device);
  EXPECT_EQ(first, second);
  EXPECT_EQ(cl::Context::current(), first);
  EXPECT_NE(first->get(), nullptr);
  EXPECT_EQ(first->device().id, device.id);
}

TEST(Context, SelectDeviceMakesItCurrent) {
  const DeviceInfo& before = cl::Context::currentDevice();
  const DeviceInfo& selected = cl::Context::selectDevice(before.coordinates());
  EXPECT_EQ(&selected, &before);
  EXPECT_EQ(&cl::Context::currentDevice(), &before);
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::Context::selectDevice("nonexistent-gpu-0"); },
                                          "nonexistent-gpu-0"));
  EXPECT_EQ(&cl::Context::currentDevice(), &before);  // a failed selection changes nothing
}

TEST(Context, RequireSameContext) {
  const auto shared = context();
  EXPECT_NO_THROW(cl::requireSameContext(*shared, *shared, "operand"));
  // A second context on the same device stands in for another device.
  const auto other = std::make_shared<cl::Context>(shared->device());
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::requireSameContext(*shared, *other, "the operand"); }, "the operand belongs to device"));
}

}  // namespace
}  // namespace mlprt::test
