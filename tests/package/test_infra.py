"""Offline checks of the Azure deployment (infra/, azure.yaml) and the local stack.

Nothing here reaches Azure: the Bicep files are parsed with pycep (checkov's parser) and read
for what they declare and use; azure.yaml and main.parameters.json are read for what azd
will pass. The drain timeout and the orchestrators' grace periods are checked to agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bootstrap.settings import all_env_keys

from .bicep_refs import BicepFile, module_output_references, parse, referenced_names
from .wheel_support import REPO

INFRA = REPO / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
SDK_ENV_KEYS = {"AZURE_CLIENT_ID"}
"""Environment variables the app sets for an SDK rather than for Parley's settings."""


@pytest.fixture(scope="module")
def files() -> dict[Path, BicepFile]:
    return {path: parse(path) for path in BICEP_FILES}


@pytest.fixture(scope="module")
def main(files: dict[Path, BicepFile]) -> BicepFile:
    return files[INFRA / "main.bicep"]


def test_every_bicep_file_parses(files: dict[Path, BicepFile]) -> None:
    assert len(files) >= 10
    for bicep in files.values():
        assert bicep.tree.get("resources") or bicep.tree.get("modules"), bicep.path


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_expressions_use_only_names_the_file_declares(
    path: Path, files: dict[Path, BicepFile]
) -> None:
    bicep = files[path]
    assert referenced_names(bicep.source) - bicep.declared() == set()


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_every_parameter_is_used(path: Path, files: dict[Path, BicepFile]) -> None:
    bicep = files[path]
    assert set(bicep.parameters) - referenced_names(bicep.source) == set()


def test_modules_get_exactly_the_parameters_they_declare(
    main: BicepFile, files: dict[Path, BicepFile]
) -> None:
    for name, module in main.modules.items():
        target = files[(INFRA / module["detail"]["path"]).resolve()]
        config = module["config"]
        config = config.get("config", config)  # a conditional module nests its body
        given = set(config["params"])
        assert given <= set(target.parameters), f"{name}: unknown {given - set(target.parameters)}"
        missing = target.required_parameters() - given
        assert not missing, f"{name}: missing required {missing}"


def test_module_outputs_that_are_used_exist(main: BicepFile, files: dict[Path, BicepFile]) -> None:
    used = module_output_references(main.source)
    assert used, "main.bicep reads no module output"
    for module_name, output in used:
        path = main.modules[module_name]["detail"]["path"]
        assert output in files[(INFRA / path).resolve()].outputs, f"{module_name}.{output}"


def test_the_parameters_file_sets_only_main_parameters_and_every_required_one(
    main: BicepFile,
) -> None:
    given = set(json.loads((INFRA / "main.parameters.json").read_text())["parameters"])
    assert given <= set(main.parameters)
    assert main.required_parameters() <= given


def test_the_app_sets_only_parley_settings_and_reads_secrets_from_key_vault(
    files: dict[Path, BicepFile],
) -> None:
    source = files[INFRA / "modules" / "containerapp.bicep"].source
    names = set(re.findall(r"\{ name: '([A-Z][A-Z0-9_]+)'", source))
    assert names - set(all_env_keys()) - SDK_ENV_KEYS == set()
    assert {"PARLEY_STORE", "REDIS_ENTRA", "ACS_RESOURCE_ID", "ACS_WEBHOOK_KEY"} <= names
    for secret in ("ACS_WEBHOOK_KEY", "PARLEY_OPERATOR_KEY"):
        assert re.search(rf"name: '{secret}', secretRef: ", source), secret
    assert "keyVaultUrl:" in source
    assert "API_KEY" not in " ".join(names) and "_KEY', value:" not in source


def test_scale_rule_replicas_and_grace_period_follow_the_drain(main: BicepFile) -> None:
    app = (INFRA / "modules" / "containerapp.bicep").read_text()
    assert "terminationGracePeriodSeconds: drainTimeoutSeconds + 30" in app
    assert re.search(r"name: 'live-calls'\s+http:", app)
    assert main.parameters["minReplicas"]["default"] >= 2
    drain = main.parameters["drainTimeoutSeconds"]["default"]
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"PARLEY_DRAIN_TIMEOUT_S={drain}" in dockerfile
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    parley = compose["services"]["parley"]
    assert parley["environment"]["PARLEY_DRAIN_TIMEOUT_S"] == str(drain)
    assert parley["stop_grace_period"] == f"{drain + 30}s"


def test_the_incoming_call_subscription_points_at_the_events_webhook(
    files: dict[Path, BicepFile], main: BicepFile
) -> None:
    grid = files[INFRA / "modules" / "eventgrid.bicep"].source
    assert "includedEventTypes: ['Microsoft.Communication.IncomingCall']" in grid
    assert "/api/acs/events?code=${webhookKey}" in main.source


def test_azure_yaml_deploys_the_dockerfile_to_container_apps() -> None:
    config = yaml.safe_load((REPO / "azure.yaml").read_text())
    service = config["services"]["parley"]
    assert service["host"] == "containerapp"
    assert (REPO / service["docker"]["path"]).is_file()
    assert (REPO / config["infra"]["path"] / f"{config['infra']['module']}.bicep").is_file()
    hook = REPO / config["hooks"]["postdeploy"]["posix"]["run"]
    assert hook.is_file() and hook.stat().st_mode & 0o111
    assert "azd-service-name': 'parley'" in (INFRA / "modules" / "containerapp.bicep").read_text()


def test_compose_runs_parley_on_redis_with_the_offline_engines() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    parley = compose["services"]["parley"]
    assert parley["environment"]["PARLEY_STORE"] == "redis"
    assert parley["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert parley["depends_on"]["redis"]["condition"] == "service_healthy"
    assert not {"PARLEY_STT", "PARLEY_TTS", "PARLEY_LLM"} & set(parley["environment"])
    assert set(parley["environment"]) <= set(all_env_keys())
