"""Reusable widgets: the header with the connected accounts, and the job progress view."""

from tui.widgets.header import AccountsHeader, accounts_line
from tui.widgets.job_progress import JobProgress, format_eta

__all__ = ["AccountsHeader", "JobProgress", "accounts_line", "format_eta"]
