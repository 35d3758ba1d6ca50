"""The one place that imports the Azure AI Speech SDK, with an install hint when it is missing."""

from __future__ import annotations

try:
    import azure.cognitiveservices.speech as speechsdk
    from azure.cognitiveservices.speech import CancellationErrorCode, CancellationReason
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "azure-cognitiveservices-speech is missing: install the Azure adapters with"
        " `pip install 'parley[azure]'` (the SDK is pinned to 1.53.0, whose wire protocol the"
        " tests were checked against)"
    ) from exc

SDK_VERSION = "1.53.0"
"""The SDK version the adapters and the stand-in were verified with (pinned in pyproject)."""

__all__ = ["SDK_VERSION", "CancellationErrorCode", "CancellationReason", "speechsdk"]
