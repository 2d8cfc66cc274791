"""SimpleMLP tutorial, step 2 of 3: build a TensorRT engine from the ONNX file (TensorRT 8.6 era).

Reads the model with ``parser.parse(f.read())`` (bytes: the weights in
``simple_mlp_dynamic.onnx.data`` are found in the working directory), sets
``builder.max_batch_size``, ``config.max_workspace_size`` and, with ``--fp16``, the FP16 flag,
adds an optimization profile when the batch is dynamic, builds with
``builder.build_engine(network, config)`` and saves ``engine.serialize()``.

Only the import line marked below differs from the TensorRT original.

    python simple_mlp_build.py --onnx simple_mlp_dynamic.onnx --engine simple_mlp_dynamic.engine [--fp16]
"""
import argparse
import sys

import mlprt as trt  # was: import tensorrt as trt

TRT_LOGGER = trt.Logger(trt.Logger.WARNING)
trt.init_libnvinfer_plugins(TRT_LOGGER, "")


def build_engine(onnx_file_path, engine_file_path, fp16=False, max_batch_size=64):
    builder = trt.Builder(TRT_LOGGER)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
    parser = trt.OnnxParser(network, TRT_LOGGER)

    with open(onnx_file_path, "rb") as f:
        if not parser.parse(f.read()):
            print("ERROR: Failed to parse the ONNX file.")
            for error in range(parser.num_errors):
                print(parser.get_error(error))
            return None

    builder.max_batch_size = max_batch_size
    config = builder.create_builder_config()
    config.max_workspace_size = 1 << 30  # 1 GiB
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)

    input_tensor = network.get_input(0)
    print("Network input {} {}".format(input_tensor.name, input_tensor.shape))
    if input_tensor.shape[0] == -1:
        profile = builder.create_optimization_profile()
        profile.set_shape(input_tensor.name, (1, 784), (max_batch_size // 2, 784), (max_batch_size, 784))
        config.add_optimization_profile(profile)

    engine = builder.build_engine(network, config)
    if engine is None:
        print("ERROR: Failed to build the engine.")
        return None
    with open(engine_file_path, "wb") as f:
        f.write(engine.serialize())
    print("Engine saved to {}".format(engine_file_path))
    return engine


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build a TensorRT engine from an ONNX file")
    parser.add_argument("--onnx", default="simple_mlp_dynamic.onnx")
    parser.add_argument("--engine", default="simple_mlp_dynamic.engine")
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()
    if build_engine(args.onnx, args.engine, fp16=args.fp16) is None:
        sys.exit(1)
