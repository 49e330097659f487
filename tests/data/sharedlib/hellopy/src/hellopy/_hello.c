#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "hello.h"

static PyObject *greeting(PyObject *self, PyObject *args) {
    return PyUnicode_FromString(hello_greeting());
}

static PyObject *twice(PyObject *self, PyObject *arg) {
    long x = PyLong_AsLong(arg);
    if (x == -1 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(hello_twice((int)x));
}

static PyMethodDef methods[] = {
    {"greeting", greeting, METH_NOARGS, "the library's greeting"},
    {"twice", twice, METH_O, "2 * x, computed by the library"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hello", NULL, -1, methods};

PyMODINIT_FUNC PyInit__hello(void) { return PyModule_Create(&module); }
