// Deliberately leaks, to prove that LeakSanitizer is on in scripts/sanitize.sh and that the
// suppressions hide no mlprt frame: a reference cycle keeps a node and the device buffer it
// holds, allocated inside mlprt::cl::DeviceBuffer::allocate, alive past exit. The script expects
// this program to fail with a leak report naming that function. Not part of the test suite.
#include <memory>

#include "backend/opencl/context.h"
#include "backend/opencl/memory.h"

namespace {

struct Node {
  std::shared_ptr<Node> self;
  std::shared_ptr<mlprt::cl::DeviceBuffer> buffer;
};

}  // namespace

int main() {
  auto node = std::make_shared<Node>();
  node->buffer = mlprt::cl::DeviceBuffer::allocate(mlprt::cl::Context::current(), 64);
  node->self = node;  // the cycle: nothing ever frees the node or its buffer
  return 0;
}
