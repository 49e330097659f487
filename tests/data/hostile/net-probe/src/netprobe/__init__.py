"""pyodist hostile-build test package net-probe"""
