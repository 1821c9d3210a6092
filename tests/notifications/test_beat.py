"""The beat schedule: one place, every entry a registered task, the sweep daily."""

from celery.schedules import crontab

from config.celery_app import app


def test_every_scheduled_task_exists_and_the_rules_run_daily():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    daily = schedule["run-escalations"]["schedule"]
    assert isinstance(daily, crontab) and daily.hour == {6} and daily.minute == {0}
    assert schedule["sweep-outbox"]["schedule"] == 300.0
