"""With ``PARLEY_BROWSER_KEY`` set, the talk page asks for the key, then calls (real Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, Served, launch_args

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BROWSER_KEY = "a-browser-key-for-the-page"


@pytest.mark.parametrize("serve_env", [{"PARLEY_BROWSER_KEY": BROWSER_KEY}])
async def test_the_page_asks_for_the_browser_key_and_then_gets_its_token(
    chromium_path: str, parley_serve: Served, shared_audio_dir: Path, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium_path,
            headless=True,
            args=launch_args(shared_audio_dir / "book_a_room.wav"),
        )
        try:
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    # The refused token request is the one error this test provokes.
                    if m.type == "error" and "401" not in m.text
                    else None
                ),
            )
            await page.goto(f"{parley_serve.base_url}/?muted=1")
            await page.wait_for_function("window.parley && window.parley.ready")
            await page.click("#start")
            await page.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
            assert "key" in await page.inner_text("#status")
            await page.fill("#key-form input", BROWSER_KEY)
            await page.click("#key-form button")
            assert await page.evaluate("sessionStorage.getItem('parley.browserKey')") == BROWSER_KEY
            await page.click("#start")
            await page.wait_for_function("window.parley.callId", timeout=15_000)
            await page.wait_for_function("window.parley.samplesPlayed > 0", timeout=15_000)
            await page.screenshot(path=str(ARTIFACTS / "talk-with-key.png"))
            await page.click("#hangup")
            await page.wait_for_function("window.parley.closeCode", timeout=15_000)
            assert await page.evaluate("window.parley.closeCode") == 1000
        finally:
            await context.close()
    assert errors == []
