// The builder: network definition + config -> serialized engine for the current device.
//
// Pipeline: copy the network (graph.h), resolve optimization profiles, fold constant
// subgraphs by running them on the device, delete dead layers, fuse GEMM epilogues (bias,
// scale, activation; BatchNormalization folding), split two-transpose shuffles, convert to FP16
// when asked, plan activation memory at every profile's extremes, choose each GEMM's tactic by
// timing (remembered in the timing cache), run the engine once per profile to compile and verify
// every kernel, and store the compiled programs in the engine.
#pragma once

#include <cstdint>
#include <vector>

#include "builder/builder_config.h"
#include "network/network.h"

namespace mlprt::builder {

// Throws InvalidArgument (bad network, profiles or config: the message names the input, layer
// or profile) or other mlprt errors (device failures).
std::vector<std::uint8_t> buildSerializedNetwork(const network::Network& network, const BuilderConfig& config);

// Tests: FP16 builds store the weights of large products N x K as on devices that offer the wgmma
// tactics (builder.cpp, "Weights for the wgmma tactics"), on any device.
void setWeightsNByKForced(bool on);

}  // namespace mlprt::builder
