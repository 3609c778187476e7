"""The stubs a student fills in, one module per exercise: the one source of the text that
``python -m minidl.exercises init DIR`` writes and of the repository's ``exercises/``
folder (a test keeps that folder equal to these files). Each module's docstring states the
exercise: the forward equation, the shapes, what to derive."""
