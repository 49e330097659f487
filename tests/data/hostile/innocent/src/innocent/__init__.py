"""pyodist hostile-build test package innocent"""
