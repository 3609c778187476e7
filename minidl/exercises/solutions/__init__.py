"""The worked solutions, one file per exercise, each the function the student writes.

They are included in the course text, so keep each short and readable; the tests grade
every one of them against the library's reference."""
