"""The QIA pages, one module per stage. Thin: check access (access.py), validate the forms,
call one service, redirect."""
