import brokenmod  # noqa: F401 - the point of this package is this import
