from setuptools import setup

setup(name="bad-import", version="1.0.0", packages=["badimport"])
