"""One module per exercise (or per family of exercises): each defines ``EXERCISE`` or
``EXERCISES``; :mod:`minidl.exercises.registry` finds them all. See ``minidl/exercises/__init__.py``."""
