"""The ``mlprt`` command line's tools, one module each: ``exec_tool`` (``mlprt exec``, trtexec's
job: build, save, load and time engines) and ``inspect_tool`` (``mlprt inspect``: what an engine
or an ONNX model holds), ``compare_tool`` (``mlprt compare``, Polygraphy's job: outputs against ONNX
Runtime); ``shapes`` parses their shape flags (trtexec's ``7x784`` and Polygraphy's
``[7,784]``). Every module exposes ``register(subparsers)``, called by ``mlprt.cli``.
"""
