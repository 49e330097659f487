from setuptools import Extension, setup

setup(name="broken", version="1.0.0", packages=["brokenmod"],
      ext_modules=[Extension("brokenmod._speed", ["brokenmod/_speed.c"])])
