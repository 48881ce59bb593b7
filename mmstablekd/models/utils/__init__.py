from .boundary_projector import BoundaryProjector
from .module_paths import get_submodule

__all__ = ['BoundaryProjector', 'get_submodule']
