#include "backend/opencl/ptx_patch.h"

#include <cstddef>
#include <regex>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace mlprt::cl {

namespace {

constexpr const char* kWgmma = "// MLPRT_WGMMA";
constexpr const char* kWait = "// MLPRT_WGWAIT";

std::vector<std::string> tokens(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string token; in >> token;) out.push_back(token);
  return out;
}

bool isCount(const std::string& token) {
  return !token.empty() && token.size() < 6 && token.find_first_not_of("0123456789") == std::string::npos;
}

[[noreturn]] void malformed(const std::string& line, const std::string& why) {
  throw BuildError("wgmma placeholder '" + line.substr(0, 160) + (line.size() > 160 ? "..." : "") + "': " + why);
}

std::string joined(const std::vector<std::string>& items, std::size_t begin, std::size_t end) {
  std::string text;
  for (std::size_t i = begin; i < end; ++i) text += (i == begin ? "" : ",") + items[i];
  return text;
}

// The instructions of one MLPRT_WGMMA placeholder (`line`: the comment, `fields`: its tokens
// after the marker).
std::string expandWgmma(const std::string& line, const std::vector<std::string>& fields) {
  if (fields.size() < 7) malformed(line, "expected shape, types, k_steps, a_step, b_step, trans_a, trans_b");
  const std::string& shape = fields[0];
  const std::string& types = fields[1];
  std::smatch match;
  if (!std::regex_match(shape, match, std::regex("m64n(\\d+)k16"))) malformed(line, "shape is not m64n<N>k16");
  const int n = std::stoi(match[1].str());
  if (n < 8 || n > 256 || n % 8 != 0) malformed(line, "N is not a multiple of 8 from 8 to 256");
  if (types != "f32.f16.f16") malformed(line, "types other than f32.f16.f16");
  for (std::size_t i = 2; i < 7; ++i) {
    if (!isCount(fields[i])) malformed(line, "k_steps, a_step, b_step, trans_a and trans_b are small integers");
  }
  const int k_steps = std::stoi(fields[2]);
  if (k_steps < 1 || k_steps > 16) malformed(line, "k_steps is not 1 to 16");
  if ((fields[5] != "0" && fields[5] != "1") || (fields[6] != "0" && fields[6] != "1")) {
    malformed(line, "trans_a and trans_b are 0 or 1");
  }
  const std::size_t accumulators = static_cast<std::size_t>(n / 2);
  if (fields.size() != 7 + accumulators + 3) {
    malformed(line, std::to_string(fields.size() - 7) + " operands where " + shape + " takes " +
                        std::to_string(accumulators) + " accumulators and 3 more");
  }
  const std::string list = "{" + joined(fields, 7, 7 + accumulators) + "}";
  const std::string& a = fields[7 + accumulators];
  const std::string& b = fields[8 + accumulators];
  const std::string& scale = fields[9 + accumulators];
  const std::string tail = ", mlprt_wg_p, 1, 1, " + fields[5] + ", " + fields[6] + ";\n";
  const std::string mma = "\twgmma.mma_async.sync.aligned." + shape + "." + types + " " + list + ", ";
  std::string text = "{\n\t.reg .pred mlprt_wg_p;\n\t.reg .b64 mlprt_wg_a, mlprt_wg_b;\n\tsetp.ne.b32 mlprt_wg_p, " +
                     scale + ", 0;\n\twgmma.fence.sync.aligned;\n" + mma + a + ", " + b + tail;
  for (int step = 1; step < k_steps; ++step) {
    text += "\tadd.s64 mlprt_wg_a, " + a + ", " + std::to_string(step * std::stoi(fields[3])) + ";\n";
    text += "\tadd.s64 mlprt_wg_b, " + b + ", " + std::to_string(step * std::stoi(fields[4])) + ";\n";
    text += mma + "mlprt_wg_a, mlprt_wg_b" + tail;
  }
  return text + "\twgmma.commit_group.sync.aligned;\n\t}";
}

std::string expandWait(const std::string& line, const std::vector<std::string>& fields) {
  if (fields.empty() || !isCount(fields[0]) || std::stoi(fields[0]) > 7) malformed(line, "expected a group count 0 to 7");
  return "wgmma.wait_group.sync.aligned " + fields[0] + ";";
}

std::string raisedTarget(const std::string& ptx) {
  std::smatch match;
  if (!std::regex_search(ptx, match, std::regex("\\.target\\s+(sm_\\w+)"))) {
    throw BuildError("wgmma placeholders in PTX without a .target line");
  }
  const std::string target = match[1].str();
  if (target == "sm_90a") return ptx;
  if (target != "sm_90") throw BuildError("wgmma needs sm_90 (Hopper); the PTX targets " + target);
  return match.prefix().str() + ".target sm_90a" + match.suffix().str();
}

}  // namespace

bool hasPtxPlaceholders(const std::string& source) { return source.find("MLPRT_WGMMA") != std::string::npos; }

std::string patchPtx(const std::string& ptx) {
  std::string out;
  std::size_t position = 0;
  bool any = false;
  while (position < ptx.size()) {
    const std::size_t wgmma = ptx.find(kWgmma, position);
    const std::size_t wait = ptx.find(kWait, position);
    const std::size_t start = std::min(wgmma, wait);
    if (start == std::string::npos) break;
    std::size_t end = ptx.find('\n', start);
    if (end == std::string::npos) end = ptx.size();
    const std::string line = ptx.substr(start, end - start);
    const bool is_wait = start == wait;
    const std::vector<std::string> fields =
        tokens(line.substr(std::string(is_wait ? kWait : kWgmma).size()));
    out += ptx.substr(position, start - position);
    out += is_wait ? expandWait(line, fields) : expandWgmma(line, fields);
    any = true;
    position = end;
  }
  out += ptx.substr(position);
  return any ? raisedTarget(out) : out;
}

}  // namespace mlprt::cl
