from .pyramid_distiller import PyramidDistiller

__all__ = ['PyramidDistiller']
