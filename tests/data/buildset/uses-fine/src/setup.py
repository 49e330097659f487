from setuptools import setup

setup(name="uses-fine", version="1.0.0", packages=["usesfine"], install_requires=["fine"])
