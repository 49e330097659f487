from demo_cext._speed import checked_sqrt, triangle

__all__ = ["checked_sqrt", "triangle"]
