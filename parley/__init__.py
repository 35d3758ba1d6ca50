"""Parley's public, stable import path.

The repository keeps the design's four top-level folders (``domain``, ``ports``, ``adapters``,
``bootstrap``); the pieces a user of Parley imports (the command line, the conversation test
kit, the agent-file schema) are re-exported from modules of this package, so their import
paths do not change when the internals move. This package is the top floor: it may import
``bootstrap`` and the layers below it, and nothing in those layers imports it.
"""
