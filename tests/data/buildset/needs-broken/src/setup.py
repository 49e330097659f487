from setuptools import setup

setup(name="needs-broken", version="1.0.0", packages=["needsbroken"])
