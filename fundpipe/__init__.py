"""fundpipe: the fund-data domain of fund-scheduler: schema, sources, validation, metrics.

It knows nothing of scheduling and runs the same from a job, a test or a notebook. Importing
the package imports nothing heavy and starts nothing; the entry points live in
:mod:`fundpipe.tasks`. The fund tables must exist (the product's databases get them from the
Alembic migrations; a scratch database from the metadata, as here)::

    import datetime as dt
    import sqlalchemy as sa
    from fundpipe import schema, tasks
    from fundpipe.settings import FundSettings

    engine = sa.create_engine("sqlite:///scratch.db")
    schema.metadata.create_all(engine)
    settings = FundSettings.from_env({"FUND_DEMO_FUNDS": "50"})
    day = dt.date(2024, 6, 3)
    tasks.collect(engine, settings, day)           # source -> fund_nav_staging
    tasks.validate(engine, settings, day)          # rules -> fund_nav / fund_nav_quarantine
    tasks.compute_metrics(engine, settings, day)   # fund_nav -> fund_metrics

Trading days are the sessions of ``FUND_CALENDAR`` (default ``XSHG``), loaded by
:func:`fundpipe.calendar.fund_calendar`; each task loads it unless given ``calendar=``.
"""
