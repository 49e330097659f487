"""pyodist hostile-build test package forever"""
