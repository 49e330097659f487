/* Two functions for the toolchain tests: one computes, one raises from C. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

static PyObject *triangle(PyObject *self, PyObject *args) {
    long long n;
    if (!PyArg_ParseTuple(args, "L", &n)) return NULL;
    return PyLong_FromLongLong(n * (n + 1) / 2);
}

static PyObject *checked_sqrt(PyObject *self, PyObject *args) {
    double x;
    if (!PyArg_ParseTuple(args, "d", &x)) return NULL;
    if (x < 0) {
        PyErr_SetString(PyExc_ValueError, "negative input rejected in C");
        return NULL;
    }
    return PyFloat_FromDouble(sqrt(x));
}

static PyMethodDef methods[] = {
    {"triangle", triangle, METH_VARARGS, "n-th triangle number"},
    {"checked_sqrt", checked_sqrt, METH_VARARGS, "square root; ValueError when negative"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
