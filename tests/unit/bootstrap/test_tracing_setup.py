"""Tracing set-up from the settings: off by default, bad config names its key, log ids."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bootstrap.logging import call_context, configure_logging
from bootstrap.settings import SettingsError, load_settings
from bootstrap.tracing import build_exporter, tracing_resource
from bootstrap.tracing_settings import otlp_headers
from ports.tracing import NoTracing


async def test_tracing_is_off_by_default(clean_env: Path) -> None:
    settings = load_settings(clean_env)
    assert settings.tracing.exporter == "none"
    resource = tracing_resource(settings)
    assert isinstance(await anext(resource), NoTracing)
    await resource.aclose()


def test_azure_monitor_without_a_connection_string_names_the_key(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_TRACING_EXPORTER=azure_monitor\n")
    with pytest.raises(SettingsError, match="APPLICATIONINSIGHTS_CONNECTION_STRING"):
        build_exporter(load_settings(clean_env))


def test_a_bad_exporter_name_fails_at_start_naming_the_key(clean_env: Path) -> None:
    clean_env.write_text("PARLEY_TRACING_EXPORTER=jaeger\n")
    with pytest.raises(SettingsError, match="PARLEY_TRACING_EXPORTER"):
        load_settings(clean_env)


def test_otlp_settings_build_an_http_exporter_for_v1_traces(clean_env: Path) -> None:
    clean_env.write_text(
        "PARLEY_TRACING_EXPORTER=otlp\nOTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318\n"
        "OTEL_EXPORTER_OTLP_HEADERS=api-key=s%3Dcret\n"
    )
    settings = load_settings(clean_env)
    assert "api-key=s%3Dcret" in settings.secret_values()  # the headers are redacted
    assert otlp_headers(settings.otel.exporter_otlp_headers) == {"api-key": "s=cret"}
    exporter = build_exporter(settings)
    assert type(exporter).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    exporter.shutdown()


async def test_log_records_of_a_traced_call_carry_its_trace_and_span_ids(
    clean_env: Path,
) -> None:
    settings = load_settings(clean_env)
    out = io.StringIO()
    handler = configure_logging(level="INFO", fmt="json", stream=out)
    exporter = InMemorySpanExporter()
    resource = tracing_resource(settings, exporter=exporter)
    tracing = await anext(resource)
    try:
        trace = tracing.start_call("call-9", 0.0, channel="test")
        with call_context("call-9"):
            import logging

            logging.getLogger("parley.test").info("inside the call")
        trace.end("hang_up", 10.0)
    finally:
        await resource.aclose()
        import logging

        logging.getLogger().removeHandler(handler)
    [line] = [json.loads(x) for x in out.getvalue().splitlines() if "inside the call" in x]
    [root] = exporter.get_finished_spans()
    assert line["call_id"] == "call-9"
    assert line["trace_id"] == format(root.context.trace_id, "032x")
    assert line["span_id"] == format(root.context.span_id, "016x")


def test_azure_monitor_settings_build_the_application_insights_exporter(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        "azure.monitor.opentelemetry.exporter", reason="the azuremonitor extra is not installed"
    )
    # No statsbeat (the exporter's own usage telemetry): nothing may leave the machine.
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    clean_env.write_text(
        "PARLEY_TRACING_EXPORTER=azure_monitor\n"
        "APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey="
        "00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/\n"
    )
    exporter = build_exporter(load_settings(clean_env))
    assert type(exporter).__name__ == "AzureMonitorTraceExporter"
    exporter.shutdown()
