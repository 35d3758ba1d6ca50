"""The async call runtime: drives one call through the ports (asyncio, no SDKs).

What belongs here: the code that owns a live call from media-stream start to close, reading
inbound audio (VAD smoothing, speech-to-text), feeding the session state machine from one
place, executing its commands (model streams, paced text-to-speech playback, tools, timers,
transfers, hang-ups, debounced session saves, transcript writes) and recording per-turn
latency. It imports only ``domain``, ``ports`` and the standard library; every wait goes
through the injected :class:`~ports.Clock` so tests step time by hand.

:class:`CallRuntime` implements the driving port :class:`ports.CallHandler`.

Conventions other layers rely on:

* Events reach the state machine from one place (a synchronous pump over one queue), so steps
  are serialised; commands never await, so a barge-in's ``StopPlayback`` drops queued audio and
  schedules ``stop_audio()`` in the same loop iteration.
* A ``StartTimer`` delay counts from the ``at_ms`` of the event whose step started it (the state
  machine's "now"): a timer armed on ``UserSpeechStarted`` (whose ``at_ms`` is the smoothed
  onset) fires exactly ``delay_ms`` after the onset.
* Frames leave on an absolute schedule: frame ``n`` of a continuous run at
  ``start + n * frame_ms - pacing_lead_ms``; ``PlaybackProgress`` is reported whenever a new
  word has been sent (with the exact text sent), or every ``progress_interval_ms`` of audio when
  the engine gave no word boundaries, and carries the speech's total duration once known.
* Failures of speech-to-text, text-to-speech, VAD and the media stream become
  ``ProviderFailed``; the model's become ``ResponseFailed`` with the port error's ``code``.
  Session-store and transcript-log failures are counted (``CallMetrics.provider_error``) and
  logged but not fed to the conversation: a write-behind store changes nothing the caller
  hears, and a store outage must not escalate calls.
* Awaits on ports have deadlines: per-frame and per-token awaits (send, synthesis chunk,
  model event, media read) through one watchdog per call (``watchdog_tick_ms`` precision, two
  attribute writes per await), the others through ``asyncio.timeout``. The transcript stream
  of speech-to-text and the telephony call events have none: they are idle while nothing
  happens, and end with the call.
"""

from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.runtime import CallRuntime

__all__ = ["CallRuntime", "RuntimeConfig", "RuntimeDeps"]
