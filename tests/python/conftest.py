"""Shared fixtures. Tests run on whatever device mlprt selects (PoCL in CI, MLPRT_DEVICE to choose)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zlib
from typing import Dict, Optional

import numpy as np
import pytest

# Tests must neither read nor fill the user's program cache; set before mlprt is imported. Under
# pytest-xdist the controller sets it before its workers start, so they all share one cache.
os.environ.setdefault("MLPRT_CACHE_DIR", tempfile.mkdtemp(prefix="mlprt-test-cache-"))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's name: random, non-zero, reproducible data."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def run_python(code: str, env: Optional[Dict[str, str]] = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (a new process, as a second user of mlprt would be)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                          text=True, timeout=timeout)
