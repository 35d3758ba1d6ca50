"""Adapters: one sub-package per technology, beside the core.

Driven adapters implement ports (``memory``, ``local``, ``azure_speech``, ``openai``, ``redis``,
``acs``); driving adapters (``http``, the ACS media endpoint) hand calls to the core through
the driving port :class:`ports.CallHandler`. Adapters import ``ports`` and their own
libraries, never ``domain`` or ``bootstrap``. Optional heavy SDKs are imported inside their own
sub-package only, with an install hint when missing.
"""
