"""Contract of ports.SessionStore: compare-and-set versions, TTL, copies, errors.

The suite is :class:`SessionStoreContract`; subclass it in a test module and define the
``store_case`` fixture returning a :class:`~bootstrap.contract.cases.SessionStoreCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import SessionStoreCase
from bootstrap.contract.suite import ContractSuite
from ports import JsonObject, StoredSession, StoreError, VersionConflictError

STATE: JsonObject = {
    "schema_version": 1,
    "phase": "listening",
    "history": [{"role": "user", "text": "héllo ☎", "at": 12.5}],
    "flags": {"greeted": True, "reprompts": 0, "transfer": None},
}


class SessionStoreContract(ContractSuite):
    """The promises of :class:`ports.SessionStore`; needs a ``store_case`` fixture."""

    port = "session_store"
    protocol = "ports.SessionStore"
    case_fixture = "store_case"

    async def test_unknown_call_has_no_session(self, store_case: SessionStoreCase) -> None:
        assert await store_case.store.get("never-stored") is None

    async def test_first_write_is_version_one_and_reads_back_equal(
        self,
        store_case: SessionStoreCase,
    ) -> None:
        store = store_case.store
        version = await store.put("c1", STATE, expected_version=None)
        assert version == 1
        assert await store.get("c1") == StoredSession("c1", 1, STATE)

    async def test_each_write_increments_the_version(self, store_case: SessionStoreCase) -> None:
        store = store_case.store
        v1 = await store.put("c1", {"n": 1}, expected_version=None)
        v2 = await store.put("c1", {"n": 2}, expected_version=v1)
        v3 = await store.put("c1", {"n": 3}, expected_version=v2)
        assert (v1, v2, v3) == (1, 2, 3)
        stored = await store.get("c1")
        assert stored is not None
        assert (stored.version, stored.state) == (3, {"n": 3})

    async def test_stale_version_raises_conflict_and_keeps_the_stored_state(
        self,
        store_case: SessionStoreCase,
    ) -> None:
        store = store_case.store
        await store.put("c1", {"n": 1}, expected_version=None)
        await store.put("c1", {"n": 2}, expected_version=1)
        with pytest.raises(VersionConflictError) as caught:
            await store.put("c1", {"n": 99}, expected_version=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert caught.value.code == "version_conflict"
        stored = await store.get("c1")
        assert stored is not None
        assert (stored.version, stored.state) == (2, {"n": 2})

    async def test_creating_an_existing_record_is_a_conflict(
        self, store_case: SessionStoreCase
    ) -> None:
        store = store_case.store
        await store.put("c1", {"n": 1}, expected_version=None)
        with pytest.raises(VersionConflictError) as caught:
            await store.put("c1", {"n": 2}, expected_version=None)
        assert (caught.value.expected, caught.value.actual) == (None, 1)

    async def test_updating_a_missing_record_is_a_conflict(
        self, store_case: SessionStoreCase
    ) -> None:
        with pytest.raises(VersionConflictError) as caught:
            await store_case.store.put("c1", {"n": 1}, expected_version=3)
        assert (caught.value.expected, caught.value.actual) == (3, None)

    async def test_concurrent_writers_of_one_version_exactly_one_wins(
        self,
        store_case: SessionStoreCase,
    ) -> None:
        store = store_case.store
        await store.put("c1", {"n": 0}, expected_version=None)
        results = await asyncio.gather(
            *(store.put("c1", {"n": i}, expected_version=1) for i in range(1, 6)),
            return_exceptions=True,
        )
        assert sorted(r for r in results if isinstance(r, int)) == [2]
        assert sum(isinstance(r, VersionConflictError) for r in results) == 4

    async def test_delete_is_idempotent_and_restarts_versions(
        self, store_case: SessionStoreCase
    ) -> None:
        store = store_case.store
        await store.put("c1", {"n": 1}, expected_version=None)
        await store.delete("c1")
        await store.delete("c1")
        await store.delete("never-stored")
        assert await store.get("c1") is None
        assert await store.put("c1", {"n": 2}, expected_version=None) == 1

    async def test_calls_are_independent(self, store_case: SessionStoreCase) -> None:
        store = store_case.store
        await store.put("a", {"who": "a"}, expected_version=None)
        await store.put("b", {"who": "b"}, expected_version=None)
        await store.delete("a")
        stored = await store.get("b")
        assert stored is not None
        assert stored.state == {"who": "b"}

    async def test_a_read_is_a_copy_not_a_live_reference(
        self, store_case: SessionStoreCase
    ) -> None:
        store = store_case.store
        state: JsonObject = {"items": [1, 2]}
        await store.put("c1", state, expected_version=None)
        state["items"] = []
        first = await store.get("c1")
        assert first is not None
        first.state["items"] = ["mutated"]
        again = await store.get("c1")
        assert again is not None
        assert again.state == {"items": [1, 2]}

    async def test_record_expires_after_its_ttl(self, store_case: SessionStoreCase) -> None:
        store = store_case.store
        await store.put("c1", {"n": 1}, expected_version=None)
        await store_case.advance(store_case.ttl_ms * 0.5)
        assert await store.get("c1") is not None
        await store_case.advance(store_case.ttl_ms * 0.5 + max(50.0, store_case.ttl_ms * 0.2))
        assert await store.get("c1") is None
        assert await store.put("c1", {"n": 2}, expected_version=None) == 1

    async def test_each_write_refreshes_the_ttl(self, store_case: SessionStoreCase) -> None:
        store = store_case.store
        version = await store.put("c1", {"n": 1}, expected_version=None)
        for n in range(2, 5):
            await store_case.advance(store_case.ttl_ms * 0.6)
            version = await store.put("c1", {"n": n}, expected_version=version)
        await store_case.advance(store_case.ttl_ms * 0.6)
        stored = await store.get("c1")
        assert stored is not None
        assert stored.state == {"n": 4}

    async def test_backend_failures_raise_store_errors(self, store_case: SessionStoreCase) -> None:
        assert store_case.failures, "an implementation must show how it fails"
        for failing in store_case.failures:
            assert issubclass(failing.expected, StoreError)
            with pytest.raises(failing.expected):
                await failing.adapter.get("c1")
            with pytest.raises(failing.expected):
                await failing.adapter.put("c1", {"n": 1}, expected_version=None)
            with pytest.raises(failing.expected):
                await failing.adapter.delete("c1")
