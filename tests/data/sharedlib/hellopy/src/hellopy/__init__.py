from hellopy._hello import greeting, twice

__all__ = ["greeting", "twice"]
