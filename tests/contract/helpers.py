"""The contract helpers now live in the contract kit (:mod:`parley.contract`); import them there.

Kept as a re-export so fixtures written against the old path keep importing.
"""

from bootstrap.contract.helpers import *  # noqa: F403
from bootstrap.contract.helpers import __all__ as __all__  # noqa: F401
