"""``parley call``: one inbound ACS call through the local ACS emulator, fully offline.

The emulator (``adapters.acs_emulator``) plays ACS: Event Grid offers the call, the server
answers through the real Call Automation SDK (HMAC-signed REST), the emulator connects the media
WebSocket with a signed JWT and speaks the caller's turns; the agent's audio is played out at
real time and recorded. The server runs in-process (uvicorn on 127.0.0.1, the settings' adapters
with ``ACS_*`` pointed at the emulator), or is an existing one given by ``--server``.

Outputs in ``--out``: ``agent.wav`` (what the caller heard), ``transcript.json`` and
``transcript.txt`` (turns, recognised words, per-turn latencies on the wire and in the server)
and ``call.html``, a self-contained timeline of the call (:mod:`bootstrap.call_report`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse

import typer
from rich.console import Console

from adapters.acs.media_codec import ACS_AUDIO_FORMATS
from adapters.acs_emulator.scenario import CallerTurn, CallResult, run_inbound_call
from adapters.acs_emulator.server import AcsEmulator, free_port
from adapters.acs_emulator.serving import serve_app
from adapters.audio.convert import read_wav, write_wav
from bootstrap.acs import parse_connection_string
from bootstrap.containers import ApplicationContainer, build_container, resolve
from bootstrap.settings import Settings, SettingsError, load_settings
from ports import AudioFormat, AudioFrame, ProviderUnavailableError, TextToSpeech, Voice

logger = logging.getLogger(__name__)


class Telephony(StrEnum):
    """Providers ``parley call`` can emulate."""

    ACS = "acs"
    TWILIO = "twilio"


DEMO_CALLER_LINES = (
    "What is my account balance?",
    "What are my recent transactions?",
    "I want to speak to a representative.",
)
"""What the synthesised caller says when no WAV is given (the bank scenario in agents/)."""


@dataclass(slots=True)
class CallStack:
    """An emulator and the server it calls.

    Attributes:
        emulator: The started ACS emulator.
        base_url: The server's base URL.
        container: The in-process server's container (None for ``--server``).
        settings: The settings the in-process server runs with.
    """

    emulator: AcsEmulator
    base_url: str
    container: ApplicationContainer | None
    settings: Settings

    @property
    def events_url(self) -> str:
        """The server's Event Grid webhook, with ``?code=<ACS_WEBHOOK_KEY>`` when one is set."""
        url = self.base_url.rstrip("/") + "/api/acs/events"
        key = self.settings.acs.webhook_key
        if key is not None and key.get_secret_value():
            url += "?" + urlencode({"code": key.get_secret_value()})
        return url

    @property
    def format(self) -> AudioFormat:
        """The media format the server negotiates (``ACS_AUDIO_FORMAT``)."""
        from bootstrap.realtime import effective_acs

        return ACS_AUDIO_FORMATS[effective_acs(self.settings).audio_format]


def emulated_settings(settings: Settings, emulator: AcsEmulator, base_url: str) -> Settings:
    """``settings`` with the ``ACS_*`` group pointed at ``emulator`` (tokens verified)."""
    acs = settings.acs.model_copy(
        update={
            "connection_string": _secret(emulator.connection_string),
            "endpoint": "",
            "callback_base_url": base_url,
            "resource_id": emulator.resource_id,
            "openid_config_url": emulator.openid_config_url,
            "jwks_url": "",
            "verify_tokens": True,
            "enforce_https": False,
            # The in-process server guards its webhook as production should; the stack's
            # events_url carries the key.
            "webhook_key": _secret(secrets.token_urlsafe(18)),
        }
    )
    providers = settings.providers.model_copy(update={"telephony": "acs"})
    return dataclasses.replace(settings, acs=acs, providers=providers)


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@contextlib.asynccontextmanager
async def open_stack(
    settings: Settings,
    *,
    server: str | None = None,
    configure: Callable[[ApplicationContainer], None] | None = None,
    warm_decoders: int = 1,
    **emulator_options: Any,
) -> AsyncIterator[CallStack]:
    """Start the emulator and (without ``server``) an in-process server that trusts it.

    Args:
        settings: Base settings (adapters, agents); ``ACS_*`` is replaced for in-process runs.
        server: Base URL of a running server configured with this emulator's endpoint
            (``ACS_CONNECTION_STRING`` with an ``http://127.0.0.1:PORT`` endpoint and the same
            access key, ``ACS_RESOURCE_ID``, and ``ACS_OPENID_CONFIG_URL`` at the emulator).
        configure: Called with the container before the app is built (test overrides).
        warm_decoders: Speech-to-text decoders to start before the call, for adapters that
            offer ``warm_up(count)`` (the local one starts a process per decoder).
        emulator_options: Passed to :class:`AcsEmulator`.

    Raises:
        SettingsError: ``--server`` without an ``ACS_CONNECTION_STRING`` to emulate.
    """
    if server is not None:
        if settings.acs.connection_string is None:
            raise SettingsError(
                ["ACS_CONNECTION_STRING: --server needs the emulator endpoint and access key"]
            )
        endpoint, key = parse_connection_string(settings.acs.connection_string.get_secret_value())
        port = urlparse(endpoint).port or 0
        emulator_options.setdefault("resource_id", settings.acs.resource_id or "emulated")
        # The server caches the emulator's JWKS: keep one signing key across runs.
        emulator_options.setdefault(
            "signing_key_path", Path(tempfile.gettempdir()) / f"parley-acs-emulator-{port}.pem"
        )
        async with AcsEmulator(access_key=key, port=port, **emulator_options) as emulator:
            yield CallStack(emulator, server, None, settings)
        return
    async with AcsEmulator(**emulator_options) as emulator:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        local = emulated_settings(settings, emulator, base_url)
        container = build_container(local)
        if configure is not None:
            configure(container)
        from bootstrap.app import create_app

        app = create_app(container)
        async with serve_app(app, port=port, lifespan="on", start_timeout_s=60.0):
            stt = await resolve(container.adapters.stt)
            warm_up = getattr(stt, "warm_up", None)
            if warm_up is not None and warm_decoders > 0:
                await warm_up(warm_decoders)
            yield CallStack(emulator, base_url, container, local)


async def synthesize_turns(
    tts: TextToSpeech, lines: Sequence[str], fmt: AudioFormat
) -> list[CallerTurn]:
    """Caller turns spoken by ``tts`` (the local TTS by default), in the call's format."""
    turns = []
    for line in lines:
        chunks = [chunk.audio.data async for chunk in tts.synthesize(line, voice=Voice(), fmt=fmt)]
        turns.append(CallerTurn(name=line, pcm=b"".join(chunks)))
    return turns


def wav_turns(paths: Sequence[Path], fmt: AudioFormat) -> list[CallerTurn]:
    """Caller turns from WAV files of any rate and channel count, converted to ``fmt``.

    Raises:
        InvalidAudioError: A file is not a PCM WAV.
        OSError: A file cannot be read.
    """
    return [CallerTurn(name=path.name, pcm=read_wav(path, fmt).data) for path in paths]


async def caller_tts(stack: CallStack) -> TextToSpeech:
    """The synthesised caller's voice: a local engine, else the in-process server's TTS.

    espeak-ng (klatt4) when the server hears with pocketsphinx, which understands that voice
    best; Piper otherwise: Whisper mishears espeak-ng's formant voice and the end-of-turn model
    judges its flat intonation unfinished (``benchmarks/bench_local_engines.py``).
    """
    try:
        if stack.settings.providers.stt != "local":
            from adapters.local.piper_tts import PiperTextToSpeech

            return PiperTextToSpeech()
        from adapters.local.tts import EspeakTextToSpeech

        local: TextToSpeech = EspeakTextToSpeech()
        return local
    except (ImportError, ProviderUnavailableError):
        if stack.container is None:
            raise
        tts: TextToSpeech = await resolve(stack.container.adapters.tts)
        return tts


@dataclass(slots=True)
class CallReport:
    """A finished call: what the caller saw, and the server's transcript when in-process.

    Attributes:
        result: The wire-side result.
        transcript: The server's transcript entries as JSON objects (empty for ``--server``).
        speed: Caller line speed factor used.
        files: Output files written.
        caller_pcm: Each caller turn's PCM in the call's format (for the call's picture).
    """

    result: CallResult
    transcript: list[dict[str, Any]] = field(default_factory=list)
    speed: float = 1.0
    files: list[Path] = field(default_factory=list)
    caller_pcm: list[bytes] = field(default_factory=list)

    @property
    def user_texts(self) -> list[str]:
        """Recognised caller turns, in order."""
        return [e["text"] for e in self.transcript if e.get("kind") == "user"]

    @property
    def agent_texts(self) -> list[str]:
        """Agent messages, in order (interrupted ones truncated to what was heard)."""
        return [e["text"] for e in self.transcript if e.get("kind") == "assistant"]


async def read_transcript(stack: CallStack, call_id: str) -> list[dict[str, Any]]:
    """The in-process server's transcript of ``call_id`` as JSON objects."""
    if stack.container is None or not call_id:
        return []
    log = await resolve(stack.container.adapters.transcripts)
    entries = await log.read(call_id)
    return [
        {
            "kind": e.kind,
            "text": e.text,
            "at_ms": round(e.at_ms, 1),
            "agent": e.agent,
            "interrupted": e.interrupted,
            "data": e.data,
        }
        for e in entries
    ]


async def place_call(
    stack: CallStack,
    turns: Sequence[CallerTurn],
    *,
    speed: float = 1.0,
    progress: Callable[[str], None] | None = None,
    transcript_wait_s: float = 8.0,
    **scenario_options: Any,
) -> CallReport:
    """Run one inbound call on ``stack`` and collect the server's transcript.

    Args:
        stack: Emulator and server.
        turns: What the caller says.
        speed: Caller line speed factor.
        progress: Called with status lines.
        transcript_wait_s: Longest wait for the transcript to settle after the call.
        scenario_options: Passed to :func:`run_inbound_call`.
    """
    result = await run_inbound_call(
        stack.emulator, stack.events_url, turns, speed=speed, progress=progress, **scenario_options
    )
    # The runtime writes its last transcript lines as the call closes: read until stable.
    transcript: list[dict[str, Any]] = []
    if stack.container is not None:
        deadline = asyncio.get_running_loop().time() + transcript_wait_s
        while asyncio.get_running_loop().time() < deadline:
            latest = await read_transcript(stack, result.call_connection_id)
            if latest and latest == transcript:
                break
            transcript = latest
            await asyncio.sleep(0.4)
    return CallReport(result, transcript, speed, caller_pcm=[t.pcm for t in turns])


def _turn_at(starts_ms: Sequence[float], at_ms: float) -> int | None:
    """Index of the last caller turn that began at or before ``at_ms`` (None: before any)."""
    found = None
    for index, start in enumerate(starts_ms):
        if start <= at_ms:
            found = index
    return found


def attribute_latency(
    transcript: Sequence[dict[str, Any]], starts_ms: Sequence[float]
) -> tuple[list[dict[str, Any] | None], list[float | None]]:
    """Each caller turn's server latency record and barge-in reaction, by the records' times.

    A turn record belongs to the caller turn during which its final transcript arrived (its
    ``marks.final``, else the entry's ``at_ms``); a barge-in reaction to the turn whose speech
    began the barge-in (``marks.onset``). The runtime's clock and the emulator's are both the
    monotonic system clock, so their times compare. Records without marks (older servers) are
    taken in order.

    Args:
        transcript: The server's transcript entries as JSON objects.
        starts_ms: When each caller turn began on the wire, monotonic ms.

    Returns:
        Per caller turn: the record's ``data`` (stages, ms) or None, and the reaction ms or None.
    """
    records: list[dict[str, Any] | None] = [None] * len(starts_ms)
    reactions: list[float | None] = [None] * len(starts_ms)
    in_order = 0
    for entry in transcript:
        if entry.get("kind") != "turn_latency":
            continue
        data = entry.get("data") or {}
        marks = data.get("marks") or {}
        if "barge_in_reaction" in data:
            index = _turn_at(starts_ms, marks.get("onset", entry.get("at_ms", 0.0)))
            if index is not None and reactions[index] is None:
                reactions[index] = data["barge_in_reaction"]
            continue
        if marks:
            index = _turn_at(starts_ms, marks.get("final", entry.get("at_ms", 0.0)))
        else:
            index = in_order if in_order < len(starts_ms) else None
            in_order += 1
        if index is not None and records[index] is None:
            records[index] = data
    return records, reactions


def _latency_rows(report: CallReport) -> list[dict[str, Any]]:
    turns = report.result.turns
    server, reactions = attribute_latency(report.transcript, [t.spoke_at * 1000.0 for t in turns])
    rows = []
    for index, turn in enumerate(turns):
        rows.append(
            {
                "turn": index + 1,
                "caller": turn.name,
                "caller_ms": round(turn.caller_ms),
                "wire_latency_ms": None if turn.latency_ms is None else round(turn.latency_ms),
                "reply_audio_ms": round(turn.reply_audio_ms),
                "barge_in_stop_audio": turn.stop_audio_at is not None,
                "barge_in_reaction_ms": reactions[index],
                "server": server[index],
            }
        )
    return rows


def write_outputs(report: CallReport, out_dir: Path) -> list[Path]:
    """Write agent.wav, transcript.json, transcript.txt and call.html into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = report.result
    fmt = result.format or ACS_AUDIO_FORMATS["pcm16KMono"]
    wav = out_dir / "agent.wav"
    audio = result.agent_audio or bytes(fmt.frame_bytes(20))
    write_wav(wav, AudioFrame(audio, fmt))
    data = {
        "call_connection_id": result.call_connection_id,
        "ok": result.ok,
        "error": result.error,
        "ended_by": result.ended_by,
        "sample_rate_hz": fmt.sample_rate_hz,
        "speed": report.speed,
        "duration_s": round(result.duration_s, 2),
        "greeting_ms": None if result.greeting_ms is None else round(result.greeting_ms),
        "stop_audio_count": result.stop_audio_count,
        "transfers": result.transfers,
        "callbacks": [{"type": name, "status": status} for name, status in result.callbacks],
        "turns": _latency_rows(report),
        "transcript": report.transcript,
    }
    json_path = out_dir / "transcript.json"
    json_path.write_text(json.dumps(data, indent=2))
    lines = [f"call {result.call_connection_id}  ({fmt.sample_rate_hz} Hz, speed {report.speed}x)"]
    for entry in report.transcript:
        if entry["kind"] in ("user", "assistant"):
            who = "caller" if entry["kind"] == "user" else f"agent ({entry['agent']})"
            cut = "  [interrupted]" if entry["interrupted"] else ""
            lines.append(f"{who:>22}: {entry['text']}{cut}")
        elif entry["kind"] == "turn_latency":
            figures = ", ".join(
                f"{k} {v:.0f} ms" for k, v in entry["data"].items() if isinstance(v, int | float)
            )
            lines.append(f"{'':>22}  [{figures}]")
    lines.append("")
    for row in _latency_rows(report):
        wire = row["wire_latency_ms"]
        lines.append(
            f"turn {row['turn']}: {row['caller']}: reply on the wire after "
            + ("no reply" if wire is None else f"{wire} ms")
        )
    if result.error:
        lines.append(f"call failed: {result.error}")
    text_path = out_dir / "transcript.txt"
    text_path.write_text("\n".join(lines) + "\n")
    from bootstrap.call_report import record_from_report, render_call_html

    html_path = out_dir / "call.html"
    html_path.write_text(render_call_html(record_from_report(report, report.caller_pcm)))
    report.files = [wav, json_path, text_path, html_path]
    return report.files


async def run_call(
    settings: Settings,
    wavs: Sequence[Path],
    *,
    server: str | None,
    speed: float,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
    telephony: str = "acs",
) -> CallReport:
    """The whole ``parley call``: stack, caller turns, the call, the outputs."""
    if settings.server.log_level in ("DEBUG", "INFO"):
        quiet = settings.server.model_copy(update={"log_level": "WARNING"})
        settings = dataclasses.replace(settings, server=quiet)
    if telephony == "twilio":
        from bootstrap.twilio_call import run_twilio_call_command

        report = await run_twilio_call_command(
            settings, wavs, speed=speed, progress=progress, caller_tts=caller_tts
        )
        write_outputs(report, out_dir)
        return report
    async with open_stack(settings, server=server) as stack:
        if wavs:
            turns = wav_turns(wavs, stack.format)
        else:
            tts = await caller_tts(stack)
            turns = await synthesize_turns(tts, DEMO_CALLER_LINES, stack.format)
            if stack.container is None or tts is not await resolve(stack.container.adapters.tts):
                close = getattr(tts, "aclose", None)
                if close is not None:
                    await close()  # the caller's own engine, not the server's
        if progress:
            progress(f"server {stack.base_url}, ACS emulator {stack.emulator.endpoint}")
        report = await place_call(stack, turns, speed=speed, progress=progress)
    write_outputs(report, out_dir)
    return report


def call(
    wavs: Annotated[
        list[Path] | None,
        typer.Argument(help="Caller turns, WAV files of any rate/channels; none: synthesised."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(help="Base URL of a running server (default: start one in-process)."),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.25, max=16.0, help="Caller line speed factor (1 = real time).")
    ] = 1.0,
    out: Annotated[Path, typer.Option(help="Directory for agent.wav and transcripts.")] = Path(
        "call-output"
    ),
    env_file: Annotated[
        Path, typer.Option("--env-file", help="dotenv file to read (missing is fine).")
    ] = Path(".env"),
    telephony: Annotated[
        Telephony,
        typer.Option(
            help="Provider to emulate: acs (Event Grid, Call Automation, 16 kHz PCM) or twilio "
            "(Voice webhook, Media Streams, 8 kHz mu-law).",
        ),
    ] = Telephony.ACS,
) -> None:
    """One inbound call through the local ACS (or Twilio) emulator; writes agent.wav and more."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        settings = load_settings(env_file)
    except SettingsError as exc:
        console.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from exc
    from bootstrap.logging import configure_logging

    configure_logging(
        level="WARNING", fmt=settings.server.log_format, secrets=settings.secret_values()
    )
    missing = [p for p in wavs or [] if not p.is_file()]
    if missing:
        console.print(f"[bold red]no such file: {', '.join(map(str, missing))}[/]")
        raise typer.Exit(1)
    if telephony == "twilio" and server is not None:
        console.print("[bold red]--server is for ACS calls; --telephony twilio runs in-process[/]")
        raise typer.Exit(1)
    name = "Twilio" if telephony == "twilio" else "ACS"
    console.rule(f"parley call: an inbound {name} call through the local {name} emulator")
    with console.status("starting...") as status:

        def progress(line: str) -> None:
            console.print(f"[dim]{line}[/]")
            status.update(line)

        try:
            report = asyncio.run(
                run_call(
                    settings,
                    wavs or [],
                    server=server,
                    speed=speed,
                    out_dir=out,
                    progress=progress,
                    telephony=telephony.value,
                )
            )
        except Exception as exc:
            console.print(f"[bold red]call failed: {type(exc).__name__}: {exc}[/]")
            raise typer.Exit(1) from exc
    _print_report(console, report)
    if not report.result.ok:
        raise typer.Exit(1)


def _print_report(console: Console, report: CallReport) -> None:
    from rich.table import Table

    for entry in report.transcript:
        if entry["kind"] == "user":
            console.print(f"[bold cyan]caller[/]: {entry['text']}")
        elif entry["kind"] == "assistant":
            cut = " [yellow](interrupted)[/]" if entry["interrupted"] else ""
            console.print(f"[bold green]{entry['agent'] or 'agent'}[/]: {entry['text']}{cut}")
    table = Table(title="turns (latency = end of caller audio to first reply frame, on the wire)")
    for column in ("turn", "caller", "caller s", "latency ms", "reply s"):
        table.add_column(column)
    for index, turn in enumerate(report.result.turns):
        table.add_row(
            str(index + 1),
            turn.name[:40],
            f"{turn.caller_ms / 1000:.1f}",
            "-" if turn.latency_ms is None else f"{turn.latency_ms:.0f}",
            f"{turn.reply_audio_ms / 1000:.1f}",
        )
    console.print(table)
    result = report.result
    status = "[green]ok[/]" if result.ok else f"[red]failed: {result.error}[/]"
    console.print(f"call {result.call_connection_id[:8]} {status}, ended by {result.ended_by}")
    for path in report.files:
        console.print(f"  wrote {path}")
