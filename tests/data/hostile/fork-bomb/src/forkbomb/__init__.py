"""pyodist hostile-build test package fork-bomb"""
