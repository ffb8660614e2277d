"""A Chandelier exit for scalphost, packaged as a third-party plugin to copy.

The host finds :class:`Chandelier` through the entry point ``chandelier`` in the group
``scalphost.plugins`` (see ``pyproject.toml``); it stays off until the config enables it.
"""

from scalphost_chandelier.chandelier import Chandelier, ChandelierSettings, RegimeFactors

__all__ = ["Chandelier", "ChandelierSettings", "RegimeFactors"]
