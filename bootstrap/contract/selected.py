"""The module ``parley contract`` (and ``--parley-contract``) runs: one test class per port.

Each class runs its port's suite on the case the ``--parley-contract PORT=MODULE:FACTORY``
factory returns (the ``parley_contract_case`` fixture of the pytest plugin); the plugin
deselects the ports not given. Pytest collects this module only when it is named on the
command line (it is not a ``test_*.py`` file).
"""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.contract.registry import PORTS


def _runner_class(port: str) -> type:
    suite = PORTS[port].suite

    def case(self: Any, parley_contract_case: Any) -> Any:
        return parley_contract_case

    name = "Test" + suite.__name__.removesuffix("Contract")
    return type(
        name,
        (suite,),
        {"selected_port": port, suite.case_fixture: pytest.fixture(name=suite.case_fixture)(case)},
    )


# One class per port of the kit, as module attributes so pytest collects them.
for _port in PORTS:
    _cls = _runner_class(_port)
    globals()[_cls.__name__] = _cls
