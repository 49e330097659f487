"""Recipe authoring: write ``meta.yaml`` recipes from a package index (``pyodist skeleton``)."""

from pyodist.skeleton.choose import Release, choose_release, parse_request
from pyodist.skeleton.inspect import SourceFacts, inspect_source
from pyodist.skeleton.pypi import Outcome, Skeleton, SkeletonRequest
from pyodist.skeleton.render import Draft, render_recipe, update_recipe_text

__all__ = [
    "Draft",
    "Outcome",
    "Release",
    "Skeleton",
    "SkeletonRequest",
    "SourceFacts",
    "choose_release",
    "inspect_source",
    "parse_request",
    "render_recipe",
    "update_recipe_text",
]
