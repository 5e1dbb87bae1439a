"""vein2vein's public contracts. Importing this package registers every type."""

from . import common, custody

__all__ = ["common", "custody"]
