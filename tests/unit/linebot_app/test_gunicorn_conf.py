"""The web workers' gunicorn hooks."""

from __future__ import annotations

import gc

from linebot_app import gunicorn_conf


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_way() -> None:
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
