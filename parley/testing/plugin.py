"""The pytest plugin of Parley (entry point ``parley`` in the ``pytest11`` group).

Pytest loads it in every run once Parley is installed: the ``parley`` fixture, the ``parley``
marker, the conversation transcript on failure, and the contract kit's
``--parley-contract PORT=MODULE:FACTORY``. See :mod:`bootstrap.testkit.plugin`.
"""

from bootstrap.testkit.plugin import (
    ConversationFactory,
    parley,
    parley_audio,
    parley_clock,
    parley_contract_case,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
)

__all__ = [
    "ConversationFactory",
    "parley",
    "parley_audio",
    "parley_clock",
    "parley_contract_case",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
]
