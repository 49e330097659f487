"""pyodist hostile-build test package escape"""
