from setuptools import Extension, setup

setup(ext_modules=[Extension("cstats._core", sources=["src/cstats/_core.c"])])
