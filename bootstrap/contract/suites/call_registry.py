"""Contract of ports.CallRegistry: claims, heartbeats, expiry, release by the owner only.

The suite is :class:`CallRegistryContract`; subclass it in a test module and define the
``registry_case`` fixture returning a :class:`~bootstrap.contract.cases.CallRegistryCase`.
"""

from __future__ import annotations

import pytest

from bootstrap.contract.cases import CallRegistryCase
from bootstrap.contract.suite import ContractSuite
from ports import StoreError


class CallRegistryContract(ContractSuite):
    """The promises of :class:`ports.CallRegistry`; needs a ``registry_case`` fixture."""

    port = "call_registry"
    protocol = "ports.CallRegistry"
    case_fixture = "registry_case"

    async def test_unclaimed_call_has_no_owner(self, registry_case: CallRegistryCase) -> None:
        assert await registry_case.registry.owner("c1") is None

    async def test_claim_records_the_owner(self, registry_case: CallRegistryCase) -> None:
        registry = registry_case.registry
        await registry.claim("c1", "instance-a")
        await registry.claim("c2", "instance-b")
        assert await registry.owner("c1") == "instance-a"
        assert await registry.owner("c2") == "instance-b"

    async def test_claim_expires_without_heartbeat(self, registry_case: CallRegistryCase) -> None:
        registry = registry_case.registry
        await registry.claim("c1", "instance-a")
        await registry_case.advance(registry_case.ttl_ms * 0.5)
        assert await registry.owner("c1") == "instance-a"
        await registry_case.advance(
            registry_case.ttl_ms * 0.5 + max(50.0, registry_case.ttl_ms * 0.2)
        )
        assert await registry.owner("c1") is None

    async def test_heartbeat_keeps_the_claim(self, registry_case: CallRegistryCase) -> None:
        registry = registry_case.registry
        await registry.claim("c1", "instance-a")
        for _ in range(3):
            await registry_case.advance(registry_case.ttl_ms * 0.6)
            await registry.claim("c1", "instance-a")
        await registry_case.advance(registry_case.ttl_ms * 0.6)
        assert await registry.owner("c1") == "instance-a"

    async def test_release_by_the_owner_removes_the_claim(
        self, registry_case: CallRegistryCase
    ) -> None:
        registry = registry_case.registry
        await registry.claim("c1", "instance-a")
        await registry.release("c1", "instance-a")
        assert await registry.owner("c1") is None
        await registry.release("c1", "instance-a")
        await registry.release("never-claimed", "instance-a")

    async def test_release_by_another_instance_changes_nothing(
        self,
        registry_case: CallRegistryCase,
    ) -> None:
        registry = registry_case.registry
        await registry.claim("c1", "instance-a")
        await registry.release("c1", "instance-b")
        assert await registry.owner("c1") == "instance-a"

    async def test_backend_failures_raise_store_errors(
        self, registry_case: CallRegistryCase
    ) -> None:
        assert registry_case.failures, "an implementation must show how it fails"
        for failing in registry_case.failures:
            assert issubclass(failing.expected, StoreError)
            with pytest.raises(failing.expected):
                await failing.adapter.claim("c1", "instance-a")
            with pytest.raises(failing.expected):
                await failing.adapter.owner("c1")
            with pytest.raises(failing.expected):
                await failing.adapter.release("c1", "instance-a")
