"""gunicorn's settings for every way the project serves (Procfile, make stack, benchmarks): it
reads this file from the folder it starts in. The rest comes from the command line."""

import gc


def post_worker_init(worker):
    # The objects of the loaded application live as long as the worker: freeze them, so the
    # collector stops walking them, and collect the young generation less often (a page makes
    # thousands of short-lived objects). Not measured apart: every load run of
    # docs/benchmarks.md since 2026-12-02 ran with it.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
