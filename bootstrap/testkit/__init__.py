"""The conversation test harness (public path :mod:`parley.testing`; ``docs/testing.md``).

The engine of ``parley.testing``: test conversations over the call runtime in text or voice
mode, recorded events, turns and their fluent expectations, the model judge, tool doubles,
YAML scenarios and their runner (``parley test``), and the pytest plugin.
"""
