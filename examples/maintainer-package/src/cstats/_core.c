/* cstats._core: mean and sample variance of a sequence of numbers, in one pass (Welford). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int
welford(PyObject *values, Py_ssize_t *count, double *mean, double *m2)
{
    PyObject *seq = PySequence_Fast(values, "expected a sequence of numbers");
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    double m = 0.0, s = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double x = PyFloat_AsDouble(items[i]);
        if (x == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        double delta = x - m;
        m += delta / (double)(i + 1);
        s += delta * (x - m);
    }
    Py_DECREF(seq);
    *count = n;
    *mean = m;
    *m2 = s;
    return 0;
}

static PyObject *
cstats_mean(PyObject *module, PyObject *values)
{
    Py_ssize_t n;
    double m, s;
    if (welford(values, &n, &m, &s) < 0) {
        return NULL;
    }
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "mean of an empty sequence");
        return NULL;
    }
    return PyFloat_FromDouble(m);
}

static PyObject *
cstats_variance(PyObject *module, PyObject *values)
{
    Py_ssize_t n;
    double m, s;
    if (welford(values, &n, &m, &s) < 0) {
        return NULL;
    }
    if (n < 2) {
        PyErr_SetString(PyExc_ValueError, "variance needs at least two values");
        return NULL;
    }
    return PyFloat_FromDouble(s / (double)(n - 1));
}

static PyMethodDef methods[] = {
    {"mean", cstats_mean, METH_O, "The arithmetic mean of a sequence of numbers."},
    {"variance", cstats_variance, METH_O, "The sample variance of a sequence of numbers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "cstats._core", "Mean and variance in C.", 0, methods,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&module);
}
