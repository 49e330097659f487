from setuptools import Extension, setup

setup(name="hellopy", version="1.0.0", packages=["hellopy"],
      ext_modules=[Extension("hellopy._hello", ["hellopy/_hello.c"], libraries=["hello"])])
