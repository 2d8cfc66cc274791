// The corners of a plan's optimization profiles: every profile's min, opt and max input shapes,
// with the shapes of all plan tensors there. The build checks memory and chooses tactics over
// them (builder.cpp, tactic_choice.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/dims.h"
#include "engine/plan.h"

namespace mlprt::builder {

// "optimization profile <profile> at its <corner> shapes", for messages.
std::string cornerName(std::size_t profile, const char* corner);

// The shape of every plan tensor at one profile extreme.
struct CornerShapes {
  std::string name;  // cornerName(...)
  std::vector<Dims> shapes;
};

// Every profile's min, opt and max, each with the shapes of all plan tensors there.
std::vector<CornerShapes> profileCorners(const engine::EnginePlan& plan);

// The shapes of all plan tensors at every profile's min, opt and max, in profileCorners' order.
std::vector<std::vector<Dims>> cornerShapes(const engine::EnginePlan& plan);

}  // namespace mlprt::builder
