"""The Pyodide runtime: fetching the core from npm, and running Python in it under Node."""
