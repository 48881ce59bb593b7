from .module_paths import get_submodule

__all__ = ['get_submodule']
