"""Engine glue: the only package that imports quickfix at run time."""
