"""fund_common: the small vocabulary the daemon (:mod:`fund_scheduler`) and the fund domain
(:mod:`fundpipe`) share, so neither has to import the other.

* :mod:`fund_common.redaction`: the one rule for secrets in URLs, and scrubbing them from text;
* :mod:`fund_common.envreader`: typed settings from environment variables, every problem at once;
* :mod:`fund_common.runstatus`: the statuses of a run and what each means;
* :mod:`fund_common.clock`: the current time in the forms the tables store;
* :mod:`fund_common.texttable`: plain-text tables for terminals.

It imports nothing of the project and nothing heavy (no SQLAlchemy, no pandas).
"""
