"""The case objects now live in the contract kit (:mod:`parley.contract`); import them from there.

Kept as a re-export so fixtures written against the old path keep importing.
"""

from bootstrap.contract.cases import *  # noqa: F403
from bootstrap.contract.cases import __all__ as __all__  # noqa: F401
