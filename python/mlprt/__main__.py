"""``python -m mlprt`` runs the command line."""
import sys

from mlprt.cli import main

sys.exit(main())
