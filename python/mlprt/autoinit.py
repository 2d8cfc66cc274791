"""Importing this module initializes the default device, as ``import pycuda.autoinit`` does.

``device`` and ``context`` are set as in pycuda.autoinit.
"""
from __future__ import annotations

from mlprt import _core, driver

driver.init()
device: driver.Device = driver.Device(_core.current_device().index)
context: driver.Context = device.make_context()
