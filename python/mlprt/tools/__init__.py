"""The ``mlprt`` command line's tools, one module each: ``exec_tool`` (``mlprt exec``, trtexec's
job: build, save, load and time engines) and ``inspect_tool`` (``mlprt inspect``: what an engine
or an ONNX model holds). Every module exposes ``register(subparsers)``, called by ``mlprt.cli``.
"""
