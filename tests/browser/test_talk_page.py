"""The talk page and the operator console in real headless Chromium (issue 17).

A real ``parley serve`` (the embedded default: Whisper, Piper, Silero VAD, Smart Turn, the
offline dialog model) on 127.0.0.1; Chromium's fake capture device plays a shared real-speech
clip as the microphone.
Everything is checked through the pages themselves (their DOM and ``window.parley``, which
the page fills from what its audio worklets report).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, OPERATOR_KEY, Served, launch_args

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIP = "go_forward.wav"  # "go forward ten meters"; every offline recogniser hears it well
GREETING_PLAYED = 8000  # samples at 16 kHz: half a second of the greeting reached the output


async def _wait(page: Any, expression: str, timeout_s: float = 30.0) -> Any:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        handle = await page.wait_for_function(expression, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        seen = await page.evaluate("JSON.stringify(window.parley || window.parleyConsole)")
        raise AssertionError(f"not true within {timeout_s} s: {expression}\n{seen}") from None
    return await handle.json_value()


async def test_a_caller_talks_with_the_agent_and_an_operator_sees_the_call(
    chromium_path: str,
    parley_serve: Served,
    shared_audio_dir: Path,
    tmp_path: Path,
    report_figure: Callable[[str], None],
) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    def watch(page: Any, name: str) -> None:
        page.on(
            "console",
            lambda m: (
                problems.append(f"{name}: console {m.type}: {m.text}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"{name}: page error: {e}"))

    clip = shared_audio_dir / CLIP
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile for every run
            executable_path=chromium_path,
            headless=True,
            args=launch_args(clip),
        )
        try:
            talk = await context.new_page()
            watch(talk, "talk")
            # Muted at first: the microphone (and so the clip) starts when the test unmutes.
            await talk.goto(f"{parley_serve.base_url}/?muted=1")
            await _wait(talk, "window.parley && window.parley.ready")
            await talk.click("#start")

            # The greeting plays: its audio frames reach the page's output.
            await _wait(talk, f"window.parley.samplesPlayed > {GREETING_PLAYED}")
            call_id = await talk.evaluate("window.parley.callId")
            assert call_id

            # The caller speaks over the greeting: barge-in stops playback in the page.
            await talk.click("#mute")
            stop_ms = await _wait(talk, "window.parley.stopLatenciesMs[0]")
            events = await talk.evaluate("window.parley.events.map(e => e.type)")
            assert "stop_audio" in events

            # The clip's words appear as the caller's final transcript...
            final = await _wait(
                talk,
                "[...document.querySelectorAll('#transcript .line.caller.final')]"
                ".map(e => e.textContent).find(t => t.includes('forward'))",
            )
            assert "go forward" in final.lower()  # Whisper writes "Go forward 10 meters."
            # ...and the agent's reply appears after it and plays.
            await _wait(
                talk,
                "(() => { const lines = [...document.querySelectorAll('#transcript .line')];"
                " const i = lines.findIndex(e => e.classList.contains('final'));"
                " return i >= 0 && lines.slice(i + 1).some(e => e.classList.contains('agent'));"
                " })()",
            )
            await _wait(
                talk,
                "window.parley.samplesPlayed > window.parley.samplesPlayedAtFinal + 8000",
            )
            # The console lists the live call (the key sits in sessionStorage, as the form
            # leaves it) and opens its live view.
            console = await context.new_page()
            watch(console, "console")
            await console.add_init_script(
                f"sessionStorage.setItem('parley.operatorKey', {json.dumps(OPERATOR_KEY)})"
            )
            await console.goto(f"{parley_serve.base_url}/console")
            row = f"tr.call[data-call-id='{call_id}']"
            await console.wait_for_selector(row, timeout=10_000)
            assert "live" in await console.inner_text(row)
            await console.click(row)
            await _wait(console, "window.parleyConsole.events.length > 3", timeout_s=10)
            await console.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
            await talk.screenshot(path=str(ARTIFACTS / "talk.png"), full_page=True)

            # Hang-up ends the call on both sides.
            await talk.click("#hangup")
            close_code = await _wait(talk, "window.parley.closeCode")
            assert close_code == 1000
            assert await talk.evaluate("window.parley.endReason")
            await console.wait_for_selector(f"{row}:has-text('ended')", timeout=10_000)
            recording = await console.get_attribute(f"{row} a.recording", "href")
            assert recording == f"/api/calls/{call_id}/call.html"
            # The durable record of the call is listed under the recorded calls and opens,
            # with a link to its call.html timeline (any call still in the store).
            record_row = f"tr.record[data-call-id='{call_id}']"
            await console.wait_for_selector(record_row, timeout=15_000)
            await console.click(record_row)
            await _wait(console, "window.parleyConsole.record?.lines.length > 1", timeout_s=10)
            assert await console.inner_text("#record-lines")
            async with context.expect_page() as opened:
                await console.click("#record-picture")
            recorded = await opened.value
            watch(recorded, "recorded call")
            await recorded.wait_for_selector("#call .main-svg", timeout=30_000)
            await recorded.screenshot(path=str(ARTIFACTS / "console-recorded.png"))
            await recorded.close()
            # Every agent message the server reported as interrupted (barge-in kept) is marked
            # in the page, and no other: whether the greeting stays cut is the runtime's call
            # (a barge-in with no words resumes it), the marking is the page's.
            marked = await talk.evaluate(
                "document.querySelectorAll('#transcript .line.agent.interrupted').length"
            )
            reported = await talk.evaluate(
                "window.parley.events.filter(e => e.type === 'agent_message' && e.interrupted)"
                ".length"
            )
            assert marked == reported
            round_trip = await talk.evaluate("window.parley.stopRoundTripMs[0]")
            report_figure(
                f"barge-in: worklet buffer emptied {round_trip} ms after stop_audio reached "
                f"the page; {stop_ms} ms including the output latency the AudioContext reports"
            )
        finally:
            await context.close()

    async with httpx.AsyncClient(base_url=parley_serve.base_url) as http:
        calls = (
            await http.get("/api/live-calls", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
        ).json()["calls"]
        picture = await http.get(
            str(recording), headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        )
    assert [c["live"] for c in calls if c["call_id"] == call_id] == [False]
    assert picture.status_code == 200, picture.text  # the recorded call the console links
    assert problems == []


def synthesized_clip(path: Path, *requests: str) -> Path:
    """``requests`` spoken by espeak-ng, 2.5 s apart (16 kHz WAV) for the fake microphone.

    No shared real-speech clip asks the bank agent for anything: this one makes it run a tool.
    Through Chromium's capture (echo cancellation, noise suppression) pocketsphinx sometimes
    mishears a line, so the request is made more than once; the agent answers each.
    """
    import asyncio

    from adapters.audio.convert import write_wav
    from adapters.local.tts import EspeakTextToSpeech
    from ports import PCM16_16K, AudioFrame, Voice

    async def speak(text: str) -> bytes:
        tts = EspeakTextToSpeech(rate_wpm=140)
        chunks = [c.audio.data async for c in tts.synthesize(text, voice=Voice(), fmt=PCM16_16K)]
        return b"".join(chunks)

    gap = bytes(PCM16_16K.frame_bytes(20) * 125)  # 2.5 s
    pcm = gap[: len(gap) // 5] + b"".join(asyncio.run(speak(text)) + gap for text in requests)
    write_wav(path, AudioFrame(pcm, PCM16_16K))
    return path


@pytest.mark.parametrize("serve_env", [{"LOCAL_ESPEAK_RATE_WPM": "450"}])
async def test_the_page_shows_tool_calls_sends_keypad_digits_and_starts_the_chosen_agent(
    chromium_path: str, parley_serve: Served, tmp_path: Path
) -> None:
    import asyncio

    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = await asyncio.to_thread(
        synthesized_clip, tmp_path / "balance.wav", "what is my balance", "check my balance"
    )
    problems: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium_path,
            headless=True,
            args=launch_args(clip),
        )
        try:
            talk = await context.new_page()
            talk.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            talk.on("pageerror", lambda e: problems.append(str(e)))
            await talk.goto(f"{parley_serve.base_url}/?muted=1")
            await _wait(talk, "window.parley && window.parley.ready")
            # More than one agent is configured: the page offers the choice.
            assert await talk.is_visible("#agent-choice")
            options = await talk.eval_on_selector_all(
                "#start-agent option", "o => o.map(e => e.value)"
            )
            assert options == ["concierge", "fraud"]

            await talk.click("#start")
            await _wait(talk, "window.parley.events.some(e => e.type === 'agent_message')")
            first_call = await talk.evaluate("window.parley.callId")
            await talk.click("#mute")  # the microphone opens: "what is my balance"
            # The tool call shows as it happens, then the answer that used it.
            tool = await _wait(
                talk,
                "[...document.querySelectorAll('#events li')].map(e => e.textContent)"
                ".find(t => t.startsWith('tool check_balance'))",
                timeout_s=60.0,
            )
            assert "check_balance" in tool
            await _wait(
                talk,
                "window.parley.events.some(e => e.type === 'agent_message'"
                " && e.text.includes('balance is'))",
            )
            # The keypad sends DTMF: 4, 2, # is a caller turn "42", which the agent answers.
            answered = await talk.evaluate(
                "window.parley.events.filter(e => e.type === 'agent_message').length"
            )
            for key in "42#":
                await talk.click(f"#keypad button:text-is('{key}')")
            await _wait(
                talk,
                f"window.parley.events.filter(e => e.type === 'agent_message').length > {answered}",
            )
            await talk.screenshot(path=str(ARTIFACTS / "talk-tools.png"), full_page=True)
            await talk.click("#hangup")
            assert await _wait(talk, "window.parley.closeCode") == 1000

            # A second call starts with the agent chosen in the page. The microphone is muted
            # first: the fake one loops "what is my balance", which the fraud agent would hand
            # back to the concierge before the page is read.
            await talk.click("#mute")
            await talk.select_option("#start-agent", "fraud")
            await talk.click("#start")
            await _wait(talk, f"window.parley.callId && window.parley.callId !== '{first_call}'")
            await _wait(
                talk,
                "window.parley.events.some(e => e.type === 'agent_message' && e.agent === 'fraud')",
            )
            assert await talk.inner_text("#agent") == "fraud"
            await talk.click("#hangup")
            assert await _wait(talk, "window.parley.closeCode") == 1000
        finally:
            await context.close()
    assert problems == []
    # The keyed digits reached the conversation: the recorded call has the caller's "42".
    async with httpx.AsyncClient(base_url=parley_serve.base_url) as http:
        picture = await http.get(
            f"/api/calls/{first_call}/call.html",
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        )
    assert picture.status_code == 200, picture.text
    assert "caller: 42" in picture.text
