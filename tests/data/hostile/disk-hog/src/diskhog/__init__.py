"""pyodist hostile-build test package disk-hog"""
