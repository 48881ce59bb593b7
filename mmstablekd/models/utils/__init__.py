from .boundary_projector import BoundaryProjector, StageAdapter
from .module_paths import get_submodule

__all__ = ['BoundaryProjector', 'StageAdapter', 'get_submodule']
