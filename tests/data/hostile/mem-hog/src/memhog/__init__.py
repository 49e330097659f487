"""pyodist hostile-build test package mem-hog"""
