"""SimpleMLP tutorial, step 1 of 3: train-free export of the model to ONNX (TensorRT 8.6 era).

Writes, in the working directory, ``simple_mlp.pth`` (the weights, for the comparison with
PyTorch in step 3), ``simple_mlp.onnx`` (static batch 1) and ``simple_mlp_dynamic.onnx``
(dynamic batch) with the export call exactly as the tutorial writes it. On torch 2.9 and later
that call runs the dynamo exporter: it writes opset 18 (``opset_version=11`` is raised) and keeps
the weights beside the model in ``simple_mlp_dynamic.onnx.data``; step 2 reads both.

This script has no TensorRT import, so nothing in it differs from the original.

    python simple_mlp_export.py
"""
import torch
import torch.nn as nn


class SimpleMLP(nn.Module):
    def __init__(self, input_size=784, hidden_size=128, num_classes=10):
        super(SimpleMLP, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        x = self.fc1(x)
        x = self.relu(x)
        x = self.fc2(x)
        return x


if __name__ == "__main__":
    torch.manual_seed(0)
    model = SimpleMLP()
    model.eval()
    torch.save(model.state_dict(), "simple_mlp.pth")

    dummy_input = torch.randn(1, 784)

    # Static batch: the input is always (1, 784).
    torch.onnx.export(model, dummy_input, "simple_mlp.onnx", input_names=["input"],
                      output_names=["output"], opset_version=11)

    # Dynamic batch: the first axis of input and output is 'batch_size'.
    torch.onnx.export(model, dummy_input, "simple_mlp_dynamic.onnx", input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}}, opset_version=11)
    print("Exported simple_mlp.onnx and simple_mlp_dynamic.onnx")
