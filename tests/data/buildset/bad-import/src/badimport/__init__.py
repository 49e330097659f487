raise ImportError("badimport refuses to import in Pyodide")
