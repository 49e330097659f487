#include <Python.h>
/* deliberately wrong: the build engine test expects this compile error in the log tail */
static int answer(void) { return undeclared_identifier_for_pyodist_test; }
